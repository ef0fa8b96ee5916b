"""Fixtures: a backend over the in-process lab device (`LocalDmDevice`)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from proxier.lab.datamodel import DataModel
from proxier.lab.local import LocalDmDevice
from proxier.translate.backend import ProxierIdentity, UpnpBackend
from proxier.translate.instances import InstanceStore
from proxier.translate.tables import mappings_dir

PROXIER = ProxierIdentity("00D09E", "ProxierGW", "PX0001")


def table1_variant(
    tmp_path: Path, *, drop: tuple[str, ...] = (), append: str = "", replace: str = ""
) -> Path:
    """A copy of the mapping files whose Table 1 lacks the rows raising `drop`, has `append`
    added at the end, and `replace` ("old→new") applied."""
    target = tmp_path / "mappings"
    shutil.copytree(mappings_dir(), target)
    f = target / "table1_events.toml"
    head, *rows = f.read_text().split("\n[[row]]\n")
    kept = [r for r in rows if not any(f'event = "{code}"\n' in r for code in drop)]
    text = "\n[[row]]\n".join([head, *kept]) + append
    if replace:
        old, new = replace.split("→")
        assert old in text
        text = text.replace(old, new)
    f.write_text(text)
    return target


def lab_device(serial: str = "LAB0001", **kwargs: Any) -> LocalDmDevice:
    model = DataModel(substitutions={"serial": serial, "oui": "0A0B0C", "index": "1"})
    return LocalDmDevice(model, **kwargs)


class RecordingBms:
    """The BMS actions TR-330 maps Reboot/FactoryReset to, recording the calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def reboot(self) -> str:
        self.calls.append("Reboot")
        return "RebootNow"

    async def baseline_reset(self) -> None:
        self.calls.append("BaselineReset")


@pytest.fixture
def device() -> Iterator[LocalDmDevice]:
    dev = lab_device()
    yield dev
    dev.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[InstanceStore]:
    s = InstanceStore(tmp_path / "instances.sqlite")
    yield s
    s.close()


@pytest.fixture
async def backend(device: LocalDmDevice, store: InstanceStore) -> AsyncIterator[UpnpBackend]:
    yield UpnpBackend(device, instance_store=store, proxier_info=PROXIER, timeout=5.0)
