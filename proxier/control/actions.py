"""Operator actions on one virtual device: `POST /api/devices/{id}/{action}`.

The action names are a contract shared by the API, `proxier devices ACTION ID` and the lab
console. Features plug their handlers in at run time (Device Protection, `proxier.dp.actions`,
brings approve, deny and trust; introduce waits for WPS, issue 9); an action nobody provides
answers 501 with a JSON error that says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from proxier.cwmp import events as ev
from proxier.virtual.device import VirtualDevice

ACTIONS = ("approve", "deny", "forget", "trust", "introduce")


@dataclass(frozen=True, slots=True)
class Sighting:
    """A device seen on the LAN that is not a virtual device: the privacy gate holds it back
    until the user decides (TR-330 §2.4). Listed and acted on by its UDN."""

    udn: str
    location: str
    privacy: str = "pending"

    @property
    def id(self) -> str:
        return self.udn

    @property
    def udns(self) -> tuple[str, ...]:
        return (self.udn,)


#: What an action acts on: a virtual device, or a device held back (approve, deny, forget).
Target = VirtualDevice | Sighting
#: A handler gets the target and the request's JSON body; returns the JSON answer.
Handler = Callable[[Target, dict[str, Any]], Awaitable[dict[str, Any]]]
#: Names a device's security state for status/API ("plain" until a feature says otherwise).
SecurityState = Callable[[Target], str]
#: What status/API show beside the state (roles, what is missing, a refusal); {} for none.
SecurityDetail = Callable[[Target], dict[str, Any]]


class ActionUnavailable(LookupError):
    """The action exists in the contract but no feature of this proxier provides it."""


class DeviceActions:
    """The action table of one Proxier, the security-state providers and the devices held
    back; a feature replaces the defaults (Device Protection: `proxier.dp.actions`)."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self.security_state: SecurityState = lambda device: "plain"
        self.security_detail: SecurityDetail = lambda device: {}
        #: devices held back from the ACS (listed by the API beside the virtual devices)
        self.sightings: Callable[[], list[Sighting]] = list

    def register(self, action: str, handler: Handler) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown device action {action!r}; one of {', '.join(ACTIONS)}")
        self._handlers[action] = handler

    def available(self) -> list[str]:
        return [a for a in ACTIONS if a in self._handlers]

    async def run(self, action: str, device: Target, body: dict[str, Any]) -> dict[str, Any]:
        handler = self._handlers.get(action)
        if handler is None:
            raise ActionUnavailable(action)
        return await handler(device, body)


class InformRefused(RuntimeError):
    """Why a session cannot start now (offline, already in a session, rate limit)."""


def inform_now(device: VirtualDevice, event: str, now: float) -> str:
    """Start a session now (like icwmp's `ubus call tr069 inform`); returns the event code.

    Without an event it is an operator's Connection Request ("6 CONNECTION REQUEST", rate
    limited like one); with one, that event is raised (TR-069 Table 7 rules apply). Method
    events ("M …") answer an ACS request and cannot be raised by hand.
    """
    engine = device.engine
    if engine is None or not device.online:
        raise InformRefused("device is offline")
    if not event or event == ev.CONNECTION_REQUEST:
        if not device.connection_request_now():
            raise InformRefused("a session is running or the Connection Request limit is reached")
        return ev.CONNECTION_REQUEST
    if event.startswith("M ") or (event not in ev.EVENT_RULES and not event.startswith("X ")):
        raise ValueError(
            f"event {event!r} cannot be raised by hand: use a TR-069 event code such as "
            '"2 PERIODIC" or a vendor "X <OUI> <name>" code'
        )
    engine.raise_event(event, now=now)
    return event
