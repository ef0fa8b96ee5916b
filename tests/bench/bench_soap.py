"""SOAP codec cost: a GetParameterValuesResponse with 1,000 parameters (issue 2, make bench),
and a typical Inform (the small envelope every session starts with).

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


def inform() -> rpc.Envelope:
    params = tuple(
        rpc.ParameterValueStruct(f"Device.DeviceInfo.Parameter{i}", f"value-{i}") for i in range(7)
    )
    message = rpc.Inform(
        rpc.DeviceIdStruct("Example", "00D09E", "MediaBox", "SN-0001"),
        (rpc.EventStruct("2 PERIODIC"),),
        1,
        rpc.UNKNOWN_TIME,
        0,
        params,
    )
    return rpc.Envelope(message, cwmp_id="1", supported_cwmp_versions="1.0,1.1,1.2,1.3,1.4")


def measure(title: str, envelope: rpc.Envelope, number: int) -> None:
    data = encode(envelope)
    assert decode(data) == envelope
    tree = etree.fromstring(data)

    t_encode = best(lambda: encode(envelope), number)
    t_decode = best(lambda: decode(data), number)
    t_tostring = best(lambda: etree.tostring(tree, xml_declaration=True, encoding="UTF-8"), number)
    t_fromstring = best(lambda: etree.fromstring(data), number)

    print(f"{title}, {len(data)} bytes")
    print(f"  baseline lxml tostring    {t_tostring * 1e3:8.3f} ms")
    print(f"  baseline lxml fromstring  {t_fromstring * 1e3:8.3f} ms")
    enc_ratio, dec_ratio = t_encode / t_tostring, t_decode / t_fromstring
    print(f"  encode                    {t_encode * 1e3:8.3f} ms  = {enc_ratio:5.2f}x tostring")
    print(f"  decode                    {t_decode * 1e3:8.3f} ms  = {dec_ratio:5.2f}x fromstring")
    print(
        f"  encode+decode round trip  {(t_encode + t_decode) * 1e3:8.3f} ms"
        f"  = {(t_encode + t_decode) / (t_tostring + t_fromstring):5.2f}x tostring+fromstring"
    )


def main() -> None:
    measure(f"GetParameterValuesResponse, {N_PARAMS} parameters", sample(), 20)
    measure("Inform, 7 parameters", inform(), 2000)


if __name__ == "__main__":
    main()
