"""Forced Inform parameters a backend partly lacks (TR-069 §3.7.1.5, issue 13 bootstrap):
missing names are found and left out, the others read together again."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from proxier.cwmp.faults import fault
from proxier.cwmp.forced import read_forced_separately
from proxier.cwmp.rpc import CwmpFaultError, ParameterValueStruct

NAMES = ("Device.RootDataModelVersion", "A", "B", "C")


class Backend:
    def __init__(self, lacks: set[str], broken: frozenset[str] = frozenset()) -> None:
        self.lacks, self.broken = lacks, broken
        self.reads: list[list[str]] = []

    async def read(self, names: Sequence[str]) -> list[ParameterValueStruct]:
        self.reads.append(list(names))
        for code, bad in ((9005, self.lacks), (9002, self.broken)):
            if bad & set(names):
                f = fault(code, "no")
                raise CwmpFaultError(f.fault_code, f.fault_string)
        return [ParameterValueStruct(n, n.lower()) for n in names]


async def test_after_a_missing_name_the_rest_is_read_in_one_request() -> None:
    """The lab device lacks Device.RootDataModelVersion, the first name: the others read
    together succeed, so it is the missing one: 1 read after the joint one, not 3."""
    backend = Backend({"Device.RootDataModelVersion"})
    missing: set[str] = set()
    got = await read_forced_separately(backend.read, NAMES, missing, {})
    assert [v.name for v in got] == ["A", "B", "C"]
    assert missing == {"Device.RootDataModelVersion"}
    assert backend.reads == [["A", "B", "C"]]


async def test_a_missing_name_after_the_first_is_found_without_repeating_a_failed_read() -> None:
    """TR-069 §3.7.1.5 (issue 13): "A" is missing, so all but the first fail together; the
    first is read alone, the failed set of names is not asked again."""
    backend = Backend({"A"})
    missing: set[str] = set()
    got = await read_forced_separately(backend.read, NAMES, missing, {})
    assert [v.name for v in got] == ["Device.RootDataModelVersion", "B", "C"]
    assert missing == {"A"}
    assert backend.reads == [
        ["A", "B", "C"],
        ["Device.RootDataModelVersion"],
        ["A"],
        ["B", "C"],
    ]


async def test_every_missing_name_is_found() -> None:
    backend = Backend({"A", "C"})
    missing: set[str] = set()
    got = await read_forced_separately(backend.read, NAMES, missing, {})
    assert [v.name for v in got] == ["Device.RootDataModelVersion", "B"]
    assert missing == {"A", "C"}


@pytest.mark.parametrize("broken", ["A", "B"])
async def test_a_failing_backend_sends_the_last_values(broken: str) -> None:
    """Not 9005 (the device does not answer): last values for what is not read yet, and
    nothing is taken for missing."""
    backend = Backend({"Device.RootDataModelVersion"}, frozenset({broken}))
    last = {n: ParameterValueStruct(n, "old") for n in NAMES}
    missing: set[str] = set()
    got = await read_forced_separately(backend.read, NAMES, missing, last)
    assert missing == {"Device.RootDataModelVersion"}
    assert {v.name: v.value for v in got} == {"A": "old", "B": "old", "C": "old"}
