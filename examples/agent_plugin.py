"""A CPE agent embedding the proxier as a plugin (docs/embedding.md).

The agent owns the event loop. It builds the proxier's config from its own settings,
starts the proxier, listens to what happens (callbacks for some kinds, the async stream for
all), tells the proxier about devices it learnt of by other means (discovery sources
changed at run time), and stops it cleanly when the agent shuts down.

Run against the lab (three shells):

    proxier labacs serve --port 7557
    proxier lab --devices 1            # prints a description URL
    python examples/agent_plugin.py --acs http://127.0.0.1:7557/acs --device URL
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import tempfile

from proxier import Activity, Proxier, config_from_dict


def agent_settings(args: argparse.Namespace, state_dir: str) -> dict[str, object]:
    """The agent's own settings mapped onto the proxier's config keys (docs/api.md)."""
    return {
        "acs": {"url": args.acs, "periodic_inform_interval": 3600},
        "connection_request": {"port": 0},
        # No source yet: the agent adds the devices it learns of below.
        "upnp": {"description_urls": [], "probe_interval": 1.0},
        "state": {"dir": state_dir},
        # The agent hands over only devices its user already chose: no second approval
        # (the proxier's default, "approve", holds each new device until approved).
        "privacy": {"mode": "auto"},
        "api": {"enable": False},
    }


async def run(args: argparse.Namespace, state_dir: str) -> int:
    proxier = Proxier(config_from_dict(agent_settings(args, state_dir)))
    sessions = asyncio.Event()
    done_count = 0

    def session_done(activity: Activity) -> None:
        nonlocal done_count
        result = "ok" if activity.detail["ok"] else f"failed: {activity.detail['reason']}"
        print(f"agent: session done for {activity.device}: {result}", flush=True)
        done_count += 1
        if done_count >= args.sessions:
            sessions.set()

    # Callbacks: one kind each (None would be every kind). They run on the loop: keep short.
    proxier.on("device_added", lambda a: print(f"agent: device added {a.device}", flush=True))
    proxier.on("online", lambda a: print(f"agent: {a.device} online ({a.detail['reason']})"))
    proxier.on("offline", lambda a: print(f"agent: {a.device} offline ({a.detail['reason']})"))
    proxier.on("session", session_done)

    async def watch() -> None:
        # The async stream: every activity, for as long as the agent iterates.
        async for activity in proxier.events():
            if activity.kind == "event":
                print(f"agent: event raised {activity.detail['code']!r} on {activity.device}")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    await proxier.start()
    watcher = asyncio.create_task(watch())
    try:
        # The agent learnt of devices (its own LAN table, a user's setting…): tell the proxier.
        await proxier.set_discovery(description_urls=tuple(args.device))
        waits = [asyncio.create_task(stop.wait()), asyncio.create_task(sessions.wait())]
        await asyncio.wait(waits, timeout=args.timeout, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        for device in proxier.devices():
            state = "online" if device.online else "offline"
            print(f"agent: table row {device.record.instance}: {device.id} {state}")
    finally:
        watcher.cancel()
        await proxier.stop()  # sessions cancelled, sockets and files closed
    print("agent: proxier stopped", flush=True)
    return 0 if sessions.is_set() else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--acs", required=True, help="ACS URL")
    parser.add_argument("--device", action="append", default=[], help="description URL")
    parser.add_argument("--state", help="state dir (default: a temporary one)")
    parser.add_argument("--sessions", type=int, default=1, help="stop after this many")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    if args.state:
        return asyncio.run(run(args, args.state))
    with tempfile.TemporaryDirectory(prefix="agent-proxier-") as state_dir:
        return asyncio.run(run(args, state_dir))


if __name__ == "__main__":
    raise SystemExit(main())
