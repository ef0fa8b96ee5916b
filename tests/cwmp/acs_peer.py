"""A scripted in-memory ACS peer speaking real SOAP through the codec.

It plays the ACS side of TR-069 §3.7.2 the way GenieACS does (InformResponse, responses to
CPE requests, queued requests one per empty POST/response, 204 at the end), records every
envelope it received, and lets a test override any reply. It is a protocol peer for the
engine's session tests, not a mock of our own layer: the real HTTP ACS is `proxier.labacs`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from proxier.cwmp import soap
from proxier.cwmp.rpc import (
    AutonomousTransferComplete,
    AutonomousTransferCompleteResponse,
    CpeRequest,
    Envelope,
    Inform,
    InformResponse,
    Message,
    TransferComplete,
    TransferCompleteResponse,
)
from proxier.cwmp.transport import AcsReply

#: A reply override: given what the CPE posted (None = empty POST), return the reply or None
#: to let the default behaviour answer.
Override = Callable[[Envelope | None], AcsReply | None]


@dataclass
class ScriptedAcs:
    """ACS peer: queue requests in `requests`; read what the CPE sent in `received`."""

    requests: deque[CpeRequest | Envelope] = field(default_factory=deque)
    version: str = "1.2"
    override: Override | None = None
    received: list[Envelope | None] = field(default_factory=list)
    closed: int = 0
    _next_id: int = 100

    def queue(self, *requests: CpeRequest | Envelope) -> None:
        self.requests.extend(requests)

    async def post(self, body: bytes) -> AcsReply:
        envelope = soap.decode(body, acs=True) if body else None
        self.received.append(envelope)
        if self.override is not None:
            reply = self.override(envelope)
            if reply is not None:
                return reply
        if envelope is not None:
            answer = self._answer(envelope.body)
            if answer is not None:
                return self.reply(answer, cwmp_id=envelope.cwmp_id)
        if self.requests:
            item = self.requests.popleft()
            if isinstance(item, Envelope):
                return AcsReply(200, soap.encode(item), "text/xml")
            self._next_id += 1
            return self.reply(item, cwmp_id=str(self._next_id))
        return AcsReply(204, b"")

    def _answer(self, body: Message) -> Message | None:
        if isinstance(body, Inform):
            return InformResponse(1)
        if isinstance(body, TransferComplete):
            return TransferCompleteResponse()
        if isinstance(body, AutonomousTransferComplete):
            return AutonomousTransferCompleteResponse()
        return None

    def reply(
        self, message: Message, *, cwmp_id: str | None = None, hold: bool | None = None
    ) -> AcsReply:
        envelope = Envelope(message, cwmp_id=cwmp_id, hold_requests=hold, version=self.version)
        return AcsReply(200, soap.encode(envelope), "text/xml")

    async def close(self) -> None:
        self.closed += 1

    # --- helpers for assertions --------------------------------------------------------------

    def bodies(self) -> list[Message | None]:
        return [None if e is None else e.body for e in self.received]

    def informs(self) -> list[Inform]:
        return [e.body for e in self.received if e is not None and isinstance(e.body, Inform)]

    def responses(self) -> list[Message]:
        """What the CPE answered to ACS requests (everything but Inform/CPE requests)."""
        return [
            e.body
            for e in self.received
            if e is not None and not isinstance(e.body, Inform | TransferComplete)
        ]
