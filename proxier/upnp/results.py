"""Result types of BMS/SMS actions that the `proxier.upnp.device` contract does not model.

The contract covers what the translation layer needs today; the clients implement every
action of the reference (upnp-dm.md §3.2, §4.2), and these carry the remaining outputs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SelfTestResult:
    """BMS GetSelfTestResult: Status is a boolean there, unlike the other tests."""

    status: bool
    additional_info: str


@dataclass(frozen=True, slots=True)
class InterfaceResetResult:
    """BMS GetInterfaceResetResult."""

    status: str  # Success / Error
    additional_info: str
    number_of_successes: int
    number_of_failures: int


@dataclass(frozen=True, slots=True)
class EUInfo:
    """SMS GetEUInfo (SMS:1 named the last output EUExecutionState; same values)."""

    eu_name: str
    eu_version: str
    eu_requested_state: str  # Active / Inactive
    eu_running_state: str  # Running / Stopped / Starting / Stopping
