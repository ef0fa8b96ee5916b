"""Baseline for the SSDP discovery benchmark: one stdlib M-SEARCH, count distinct UDNs.

    ip netns exec upnp-…-cp python -m tests.netns.raw_msearch --source 198.18.0.11 --expect 100

Prints "FOUND N seconds" once N distinct devices answered. No parsing beyond the USN line.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from proxier.upnp.netns import in_private_netns

ST = "urn:schemas-upnp-org:device:ManageableDevice:2"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--within", type=float, default=20.0)
    args = parser.parse_args()
    if not in_private_netns():
        print("refusing to run in the host network namespace", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.source, 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(args.source))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    print("READY", flush=True)
    started = time.perf_counter()
    msg = (
        'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
        f"MX: 1\r\nST: {ST}\r\n\r\n"
    )
    sock.sendto(msg.encode(), ("239.255.255.250", 1900))
    seen: set[str] = set()
    sock.settimeout(args.within)
    while len(seen) < args.expect:
        data, _ = sock.recvfrom(65535)
        for line in data.split(b"\r\n"):
            if line[:4].lower() == b"usn:":
                seen.add(line[4:].split(b"::")[0].strip().decode())
    print(f"FOUND {len(seen)} {time.perf_counter() - started:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
