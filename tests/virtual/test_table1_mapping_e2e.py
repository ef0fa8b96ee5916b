"""End to end with an operator-edited Table 1 (`PROXIER_MAPPINGS`): lab ACS ⇄ proxier ⇄ lab
DM device over real sockets, the mapping file deciding which Inform events go out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from proxier.translate.tables import default_tables
from tests.translate.conftest import table1_variant
from tests.virtual.rig import rig


@pytest.fixture
def without_row_8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The proxier loads a Table 1 without "8 DIAGNOSTICS COMPLETE"."""
    monkeypatch.setenv(
        "PROXIER_MAPPINGS", str(table1_variant(tmp_path, drop=("8 DIAGNOSTICS COMPLETE",)))
    )
    default_tables.cache_clear()
    yield
    monkeypatch.undo()
    default_tables.cache_clear()


@pytest.mark.usefixtures("without_row_8")
async def test_ipping_without_row_8_sends_no_diagnostics_complete(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """TR-330 §4.5.1 with Table 1 row 8 removed from the mapping file: the ACS's IPPing still
    runs to Complete, but no Inform carries "8 DIAGNOSTICS COMPLETE" (the shipped table's
    run of the same steps is tests/virtual/test_proxy_e2e.py, which expects it)."""
    base = "Device.IP.Diagnostics.IPPing."
    caplog.set_level(logging.INFO, "proxier.translate.diagnostics")
    async with rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        mark = r.last_inform_id(dev_id)
        spv = await r.rpc(
            dev_id,
            {
                "name": "SetParameterValues",
                "parameterList": [
                    [base + "Host", "127.0.0.1", "xsd:string"],
                    [base + "NumberOfRepetitions", "1", "xsd:unsignedInt"],
                    [base + "DiagnosticsState", "Requested", "xsd:string"],
                ],
                "parameterKey": "ping-1",
            },
        )
        assert spv["status"] == "done", spv.get("result")
        for _ in range(400):  # until the proxier saw the BMS test end (bounded)
            if any("IPPing. finished" in m for m in caplog.messages):
                break
            await asyncio.sleep(0.05)
        # A session now: its Inform would carry a pending "8 DIAGNOSTICS COMPLETE".
        got = await r.rpc(
            dev_id, {"name": "GetParameterValues", "parameterNames": [base + "DiagnosticsState"]}
        )
        assert got["result"]["parameterList"][0]["value"] == "Complete"
        codes = {c for i in r.acs.store.informs(dev_id, after=mark) for c, _ in i["events"]}
        assert "6 CONNECTION REQUEST" in codes
        assert "8 DIAGNOSTICS COMPLETE" not in codes
