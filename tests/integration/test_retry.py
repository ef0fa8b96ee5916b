"""Session retry against an ACS that is down (TR-069 §3.2.1.1 Table 3, Table 7), with the
engine's clock injected: real connection failures over loopback, no sleeping."""

from __future__ import annotations

from pathlib import Path

from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.engine import CpeEngine, SessionResult
from proxier.cwmp.http import transport_factory
from proxier.labacs.server import LabAcs, LabAcsConfig
from tests.integration.harness import CPE_PASSWORD, CPE_USER, make_cpe
from tests.ports import free_port

#: TR-069 Table 3 (defaults m = 5 s, k = 2.000): retry n waits within these bounds;
#: from the tenth retry on, 2560–5120 s.
TABLE_3 = {
    1: (5, 10),
    2: (10, 20),
    3: (20, 40),
    4: (40, 80),
    5: (80, 160),
    6: (160, 320),
    7: (320, 640),
    8: (640, 1280),
    9: (1280, 2560),
    10: (2560, 5120),
}


FACTORY = transport_factory()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def attempt(engine: CpeEngine) -> SessionResult:
    """One session over a fresh HTTP transport, closed afterwards (as DeviceRunner does)."""
    transport = FACTORY(engine.acs_settings())
    try:
        return await engine.run_session(transport)
    finally:
        await transport.close()


async def test_retry_table_then_recovery(tmp_path: Path) -> None:
    """§3.2.1.1: each failed attempt waits a random time within Table 3's range for its
    post-reboot retry count (capped at the 10th), the RetryCount goes into the next
    Inform, BOOTSTRAP/BOOT survive the failed sessions (Table 7), and after a success
    the count is back to zero."""
    clock = Clock(1_800_000_000.0)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    async with ConnectionRequestServer(port=0) as crs:
        cpe = make_cpe(tmp_path / "cpe", url, crs, clock=clock, periodic_inform_enable=False)
        engine = cpe.engine
        engine.device_booted(clock())
        attempts = 12
        for n in range(1, attempts + 1):
            assert engine.handle_timer(clock())
            result = await attempt(engine)
            assert not result.ok and "transport" in result.reason
            assert engine.retry_count == n
            due = engine.get_timer()
            assert due is not None
            low, high = TABLE_3[min(n, 10)]
            assert low <= due - clock.now <= high, (n, due - clock.now)
            clock.now = due
        config = LabAcsConfig(
            port=port, db=str(tmp_path / "acs.sqlite"), username=CPE_USER, password=CPE_PASSWORD
        )
        async with LabAcs(config) as acs:
            assert engine.handle_timer(clock())
            result = await attempt(engine)
            assert result.ok
            (inform,) = acs.store.informs(cpe.id)
            assert inform["retryCount"] == attempts
            assert inform["events"] == [["0 BOOTSTRAP", ""], ["1 BOOT", ""]]
            assert engine.retry_count == 0
            # No retry policy any more: nothing is due until something new happens.
            due = engine.get_timer()
            assert due is None or due - clock.now > TABLE_3[10][1]
        cpe.crs.unregister(cpe.token)
        cpe.store.close()


async def test_random_waits_are_spread(tmp_path: Path) -> None:
    """§3.2.1.1: the wait is chosen at random within the range (no retry storms of many
    virtual devices retrying in lockstep)."""
    clock = Clock(1_800_000_000.0)
    url = f"http://127.0.0.1:{free_port()}/"
    waits = []
    async with ConnectionRequestServer(port=0) as crs:
        for i in range(6):
            cpe = make_cpe(tmp_path / f"cpe{i}", url, crs, serial=f"R{i}", clock=clock)
            cpe.engine.device_booted(clock())
            assert cpe.engine.handle_timer(clock())
            await attempt(cpe.engine)
            due = cpe.engine.get_timer()
            assert due is not None
            waits.append(due - clock.now)
            cpe.crs.unregister(cpe.token)
            cpe.store.close()
    assert all(5 <= w <= 10 for w in waits)
    assert len({round(w, 3) for w in waits}) > 1
