"""SOAP codec cost: a GetParameterValuesResponse with 1,000 parameters (issue 2, make bench).

Our encode (Envelope → bytes) and decode (bytes → Envelope, hardened parser included) are
timed against plain lxml on the very same bytes: `etree.tostring` of the parsed tree for
building and `etree.fromstring` for parsing. Results are ratios, so they hold on any CPU.
"""

from __future__ import annotations

import timeit

from lxml import etree

from proxier.cwmp import rpc
from proxier.cwmp.soap import decode, encode

N_PARAMS = 1000


def sample() -> rpc.Envelope:
    types = ("xsd:string", "xsd:unsignedInt", "xsd:boolean", "xsd:dateTime", "xsd:int")
    values = ("Living room & <kitchen>", "4294967295", "1", "2026-11-21T15:16:21Z", "-42")
    params = tuple(
        rpc.ParameterValueStruct(
            f"Device.Services.X_Example.Table.{i}.Parameter{i % 7}",
            values[i % len(values)],
            types[i % len(types)],
        )
        for i in range(N_PARAMS)
    )
    return rpc.Envelope(rpc.GetParameterValuesResponse(params), cwmp_id="bench-1", version="1.0")


def best(stmt: object, number: int) -> float:
    """Best per-call time of several runs (least disturbed by the machine)."""
    return min(timeit.repeat(stmt, number=number, repeat=7)) / number  # type: ignore[arg-type]


def main() -> None:
    envelope = sample()
    data = encode(envelope)
    assert decode(data) == envelope
    tree = etree.fromstring(data)
    number = 20

    t_encode = best(lambda: encode(envelope), number)
    t_decode = best(lambda: decode(data), number)
    t_tostring = best(lambda: etree.tostring(tree, xml_declaration=True, encoding="UTF-8"), number)
    t_fromstring = best(lambda: etree.fromstring(data), number)

    print(f"GetParameterValuesResponse, {N_PARAMS} parameters, {len(data)} bytes")
    print(f"  baseline lxml tostring    {t_tostring * 1e3:8.3f} ms")
    print(f"  baseline lxml fromstring  {t_fromstring * 1e3:8.3f} ms")
    enc_ratio, dec_ratio = t_encode / t_tostring, t_decode / t_fromstring
    print(f"  encode                    {t_encode * 1e3:8.3f} ms  = {enc_ratio:5.2f}x tostring")
    print(f"  decode                    {t_decode * 1e3:8.3f} ms  = {dec_ratio:5.2f}x fromstring")
    print(
        f"  encode+decode round trip  {(t_encode + t_decode) * 1e3:8.3f} ms"
        f"  = {(t_encode + t_decode) / (t_tostring + t_fromstring):5.2f}x tostring+fromstring"
    )


if __name__ == "__main__":
    main()
