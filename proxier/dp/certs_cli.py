"""`proxier certs init DIR`: development certificates for the DP carrier flow.

Writes DIR/ca.pem + ca-key.pem (development CA), DIR/proxier/chain.pem + key.pem (the
proxier's CA-signed DP identity: `[dps] certificate`/`key`) and DIR/lab/<udn>/identity for
the first lab devices (`proxier lab --dps --state-dir DIR/lab --trust-ca DIR/ca.pem`).
Keys are 0600 in 0700 folders; nothing here belongs in git (certs/ ignores them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from proxier.dbfile import private_dir
from proxier.dp import certs
from proxier.lab.server import default_udn
from proxier.upnp.tls import dp_identity, ensure_identity


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="certs_command", required=True)
    init = sub.add_parser("init", help="create a dev CA, a CA-signed proxier identity, lab ids")
    init.add_argument("dir", help="output folder (e.g. certs/dev)")
    init.add_argument("--lab-devices", type=int, default=3, help="lab device identities")
    init.add_argument("--host", default="127.0.0.1", help="lab devices' address (SAN)")


def main(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    made = certs.init(directory)
    private_dir(directory / "lab")
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    leaf = x509.load_pem_x509_certificate(made["certificate"].read_bytes())
    ours = dp_identity(leaf.public_bytes(serialization.Encoding.DER))
    print(f"CA:                 {made['ca']}")
    print(f"proxier identity:   {made['certificate']} (key {made['key']}), DP id {ours}")
    for index in range(max(0, min(args.lab_devices, 100))):
        udn = default_udn("proxier-lab", index)
        folder = private_dir(directory / "lab" / udn.removeprefix("uuid:")) / "identity"
        if (folder / "chain.pem").exists():
            identity = dp_identity(ensure_identity(folder).leaf_der)
        else:  # CA-signed, so `[dps] device_ca = DIR/ca.pem` verifies it
            cn = f"Lab DM device {index}"
            hosts = (args.host,)
            issued = certs.issue(
                made["ca"], directory / "ca-key.pem", folder, cn, server=True, hosts=hosts
            )
            identity = issued.identity
        print(f"lab device {index}:       {folder} DP id {identity}")
    print("carrier flow:")
    print(f"  proxier lab --dps --state-dir {directory / 'lab'} --trust-ca {made['ca']}")
    print(f'  [dps] certificate = "{made["certificate"]}"  key = "{made["key"]}"')
    print(f'  optional: [dps] device_ca = "{made["ca"]}" (verify the lab devices by CA)')
    return 0
