"""`proxier run --config FILE [--check]`: the resident daemon on the gateway.

Start-up never surprises: a config error or a runtime condition (state dir, ports, files,
discovery, another instance) is one line naming the key and the fix, exit status 1 or 2,
no traceback, nothing left open. Running, it logs "started" (version, ACS without
credentials, Connection Request endpoint, API), reloads its config on SIGHUP (proxier/reload.py)
and logs "stopping"/"stopped" with the reason on SIGTERM/SIGINT. Under systemd it speaks the
notify protocol (proxier/sdnotify.py).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

from proxier import logsafe, preflight, reload, sdnotify
from proxier.config import Config, ConfigError, load
from proxier.gcpolicy import GcFreezer
from proxier.instancelock import InstanceLock, InstanceLocked
from proxier.logsetup import setup_logging
from proxier.redact import summarise

log = logsafe.get_logger("proxier")

EXIT_CONFIG = 2
EXIT_RUNTIME = 1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="FILE", help="TOML configuration")
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate the configuration and the runtime conditions (state dir, ports, "
        "files, discovery), then exit",
    )


def _say(level: str, text: str) -> None:
    print(f"proxier: {level}: {text}", file=sys.stderr)


def check(path: str, config: Config) -> int:
    """`run --check`: every finding on stderr; non-zero when one is an error.

    Checking the new config of a running daemon is normal (before a reload): when another
    proxier holds the state dir, its own ports are not reported as in use."""
    running = InstanceLock.holder(Path(config.state.dir))
    findings = preflight.check(config, ports=running is None)
    if running is not None:
        findings.append(
            preflight.Finding(
                "warning",
                "state.dir",
                f"a proxier (pid {running}) runs on it; ports not checked (they are its own)",
            )
        )
    for finding in findings:
        _say(finding.level, finding.line())
    if any(f.level == "error" for f in findings):
        return EXIT_RUNTIME
    print(f"proxier: {path}: configuration is valid")
    return 0


class Daemon:
    """One `proxier run`: the Proxier, its signals, reloads and stop reason."""

    def __init__(self, path: str, config: Config) -> None:
        self.path = path
        self.config = config
        self.stop = asyncio.Event()
        self.reason = ""
        self._reloads: set[asyncio.Task[None]] = set()
        self._started = False
        self._hup_pending = False

    def _stop(self, reason: str) -> None:
        if not self.stop.is_set():
            self.reason = reason
            self.stop.set()

    def _hup(self) -> None:
        if not self._started:  # a SIGHUP during start-up is applied once it is up
            self._hup_pending = True
            return
        task = asyncio.get_running_loop().create_task(self._reload())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def run(self) -> int:
        from proxier.api import Proxier

        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self._stop, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, self._hup)
        try:
            self.proxier = Proxier(self.config)
            await self.proxier.start()
        except sqlite3.Error as exc:
            _say("cannot start", f"state.dir: {summarise(exc)} (a damaged file in it?)")
            return EXIT_RUNTIME
        except Exception as exc:  # one line, everything already closed by start()
            _say("cannot start", summarise(exc))
            return EXIT_RUNTIME
        self._started = True
        freezer = GcFreezer()  # full GC passes walk only what is new (issue 13)
        try:
            sdnotify.ready("running")
            if self._hup_pending:
                self._hup()
            await self.stop.wait()
            log.info("stopping (%s)", self.reason)
            sdnotify.stopping()
            loop.remove_signal_handler(signal.SIGHUP)
            for task in list(self._reloads):
                task.cancel()
            await self.proxier.stop()
        finally:
            freezer.close()
        log.info("stopped (%s)", self.reason)
        return 0

    async def _reload(self) -> None:
        sdnotify.reloading()
        try:
            await self._apply_new_config()
        except Exception as exc:  # a failed reload must not end the daemon or log a traceback
            log.error(
                "reload of %s failed, the running config is kept: %s", self.path, summarise(exc)
            )
        finally:
            sdnotify.ready("running")

    async def _apply_new_config(self) -> None:
        try:
            new = load(self.path)
        except ConfigError as exc:
            log.error("reload of %s refused, the running config is kept: %s", self.path, exc)
            return
        try:
            setup_logging(new.log.level, new.log.format, new.log.target)
        except OSError as exc:
            log.error("reload refused, the running config is kept: log.target: %s", exc)
            return
        applied, pending = await reload.apply(self.proxier, new)
        log.info("reloaded %s: %s", self.path, ", ".join(applied) or "nothing to change")
        if pending:
            log.warning(
                "reload: %s changed but need a restart; the running values are kept",
                ", ".join(pending),
            )


def main(args: argparse.Namespace) -> int:
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"proxier: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.check:
        return check(args.config, config)
    state = preflight.check_state_dir(config.state.dir)
    if state:
        _say("cannot start", state[0].line())
        return EXIT_RUNTIME
    lock = InstanceLock(Path(config.state.dir))
    try:
        lock.acquire()
    except InstanceLocked as exc:
        _say("cannot start", f"state.dir: {exc}")
        return EXIT_RUNTIME
    except OSError as exc:
        _say("cannot start", f"state.dir: {summarise(exc)}")
        return EXIT_RUNTIME
    try:
        findings = preflight.check(config)
        errors = [f for f in findings if f.level == "error"]
        for finding in errors:
            _say("cannot start", finding.line())
        if errors:
            return EXIT_RUNTIME
        setup_logging(config.log.level, config.log.format, config.log.target)
        for finding in findings:
            log.warning("%s", finding.line())
        return asyncio.run(Daemon(args.config, config).run())
    except OSError as exc:
        _say("cannot start", summarise(exc))
        return EXIT_RUNTIME
    finally:
        lock.release()
