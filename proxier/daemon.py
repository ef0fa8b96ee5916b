"""`proxier run --config FILE`: the resident daemon on the gateway."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from proxier import logsafe
from proxier.config import Config, ConfigError, load

log = logsafe.get_logger("proxier")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="FILE", help="TOML configuration")
    parser.add_argument("--check", action="store_true", help="validate the configuration and exit")


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logsafe.install()  # peers' strings are escaped in third-party records too


async def serve(config: Config, stop: asyncio.Event) -> None:
    """Run a Proxier until `stop` is set."""
    from proxier.api import Proxier

    proxier = Proxier(config)
    await proxier.start()
    try:
        await stop.wait()
    finally:
        await proxier.stop()


def main(args: argparse.Namespace) -> int:
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"proxier: config error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"proxier: {args.config}: configuration is valid")
        return 0
    setup_logging(config.log.level)

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(config, stop)

    try:
        asyncio.run(runner())
    except OSError as exc:
        print(f"proxier: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0
