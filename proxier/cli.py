"""Command line: `proxier run | lab | labacs | demo | status`.

Each subcommand lives in its own module exposing `configure(parser)` and `main(args) -> int`,
so the CLI stays a table and every command can be tested on its own.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from proxier import __version__

#: subcommand → (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("proxier.daemon", "run the proxier daemon (TOML config)"),
    "lab": ("proxier.lab.cli", "run lab UPnP DM devices"),
    "labacs": ("proxier.labacs.cli", "run or drive the lab ACS"),
    "demo": ("proxier.demo", "lab devices + proxier + lab ACS on embedded defaults"),
    "status": ("proxier.status", "show the virtual devices of a running proxier"),
    "inform": ("proxier.control.inform_cli", "start a session of one virtual device now"),
    "devices": ("proxier.control.devices_cli", "approve/deny/forget/trust/introduce a device"),
    "certs": ("proxier.dp.certs_cli", "development certificates for DeviceProtection"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="proxier", description="TR-069 CPE Proxier for UPnP DM")
    parser.add_argument("--version", action="version", version=f"proxier {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # not built yet
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command)
        command.set_defaults(_main=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._main(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
