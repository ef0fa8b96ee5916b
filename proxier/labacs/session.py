"""One CWMP session seen from the ACS side (TR-069 §3.7.2), as a state machine.

    INFORM ──Inform──▶ CPE ──empty POST──▶ ACS ──no task left──▶ DONE (204)
                       │ TransferComplete,      │ response/Fault to the task in flight
                       │ AutonomousTransfer…,   │ → record it, send the next task
                       └ GetRPCMethods ◀────────┘

Bytes in, a `Reply` out; the aiohttp driver (`proxier.labacs.server`) owns sockets, cookies
and auth. Tasks come from the store one at a time (MaxEnvelopes 1), each with the cwmp:ID
`task-<id>` that the CPE must echo. The ACS answers in the CWMP version of the CPE's Inform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proxier.cwmp import rpc
from proxier.cwmp.rpc import Envelope, Fault
from proxier.cwmp.soap import SoapError, decode, encode
from proxier.labacs import store as st
from proxier.labacs.store import LabStore
from proxier.labacs.tasks import TaskError, device_id, expected_response, result_json, task_request
from proxier.logsafe import get_logger

log = get_logger(__name__)

INFORM, CPE, ACS, DONE = "inform", "cpe", "acs", "done"

#: What the lab ACS offers in GetRPCMethodsResponse (TR-069 Annex A.4.1).
ACS_METHODS = ("Inform", "GetRPCMethods", "TransferComplete", "AutonomousTransferComplete")


@dataclass(frozen=True, slots=True)
class Reply:
    """The HTTP answer to one POST. `ended` = the session is over (204 sent or refused)."""

    status: int
    body: bytes = b""
    ended: bool = False

    @property
    def content_type(self) -> str | None:
        if not self.body:
            return None
        return 'text/xml; charset="utf-8"' if self.status == 200 else "text/plain"


class AcsSession:
    """The state of one session; `handle(body, now)` per POST."""

    def __init__(self, sid: str, store: LabStore, now: float) -> None:
        self.sid = sid
        self.store = store
        self.state = INFORM
        self.device_id: str | None = None
        self.version = "1.2"
        self.last_activity = now
        self._in_flight: tuple[int, Any, str] | None = None  # task id, request, cwmp:ID
        self.inform: rpc.Inform | None = None

    def _envelope(self, body: Any, cwmp_id: str | None) -> bytes:
        return encode(Envelope(body, cwmp_id=cwmp_id, version=self.version))

    def _bad(self, text: str) -> Reply:
        log.warning("session %s: %s", self.sid[:6], text)
        self.abort("bad request: " + text)
        return Reply(400, text.encode(), ended=True)

    def abort(self, outcome: str) -> None:
        """The session ends without a 204: a task in flight goes back to the queue."""
        if self.state == DONE:
            return
        self.state = DONE
        if self.device_id is not None:
            self.store.requeue_sent(self.device_id)
            self.store.session_ended(self.sid, outcome)

    def handle(self, body: bytes, now: float) -> Reply:
        self.last_activity = now
        if self.state == DONE:
            return Reply(400, b"session is over", ended=True)
        envelope: Envelope | None = None
        if body.strip():
            try:
                envelope = decode(body, acs=True)
            except SoapError as exc:
                return self._malformed(exc)
        if self.state == INFORM:
            return self._on_inform(envelope)
        if self.device_id is not None:
            self.store.touch(self.device_id)
        if self.state == CPE:
            if envelope is None:
                self.state = ACS
                return self._next_task()
            return self._on_cpe_request(envelope)
        return self._on_cpe_answer(envelope)

    def _malformed(self, exc: SoapError) -> Reply:
        if self.state == ACS and self._in_flight is not None:
            task_id = self._in_flight[0]
            self._in_flight = None
            self.store.set_task(task_id, st.ERROR, {"error": f"unreadable answer: {exc}"})
            return self._next_task()
        if self.state == INFORM:
            return self._bad(f"first message is not a valid Inform ({exc})")
        return Reply(200, encode(exc.envelope(self.version)))

    # --- phases ----------------------------------------------------------------------------

    def _on_inform(self, envelope: Envelope | None) -> Reply:
        if envelope is None or not isinstance(envelope.body, rpc.Inform):
            return self._bad("a session starts with an Inform")
        inform = self.inform = envelope.body
        if not inform.device_id.oui or not inform.device_id.serial_number:
            return self._bad("DeviceId lacks OUI or SerialNumber")
        self.version = envelope.version
        self.device_id = device_id(inform.device_id)
        self.store.session_started(self.sid, self.device_id)
        self.store.record_inform(self.device_id, inform, self.sid, envelope.version)
        self.state = CPE
        codes = ", ".join(e.event_code for e in inform.event)
        log.info("Inform from %s [%s]", self.device_id, codes)
        return Reply(200, self._envelope(rpc.InformResponse(max_envelopes=1), envelope.cwmp_id))

    def _on_cpe_request(self, envelope: Envelope) -> Reply:
        assert self.device_id is not None
        message = envelope.body
        answer: Any
        if isinstance(message, rpc.TransferComplete):
            answer = rpc.TransferCompleteResponse()
        elif isinstance(message, rpc.AutonomousTransferComplete):
            answer = rpc.AutonomousTransferCompleteResponse()
        elif isinstance(message, rpc.GetRPCMethods):
            answer = rpc.GetRPCMethodsResponse(ACS_METHODS)
        elif isinstance(message, rpc.Inform):
            return self._bad("a second Inform in one session")
        else:
            return self._bad(f"unexpected {type(message).__name__} before the empty POST")
        self.store.record_cpe_request(
            self.device_id, self.sid, type(message).__name__, result_json(message)
        )
        return Reply(200, self._envelope(answer, envelope.cwmp_id))

    def _on_cpe_answer(self, envelope: Envelope | None) -> Reply:
        assert self.device_id is not None
        if self._in_flight is None:
            return self._bad("a message while no ACS request is outstanding")
        task_id, request, cwmp_id = self._in_flight
        self._in_flight = None
        if envelope is None:
            self.store.set_task(task_id, st.ERROR, {"error": "the CPE sent an empty POST"})
            return self._next_task()
        message = envelope.body
        if envelope.cwmp_id != cwmp_id:
            self.store.set_task(
                task_id,
                st.ERROR,
                {"error": f"cwmp:ID {envelope.cwmp_id!r} does not echo {cwmp_id!r}"},
            )
        elif isinstance(message, Fault):
            self.store.set_task(task_id, st.FAULT, result_json(message))
        elif type(message) is expected_response(request):
            self._learn(request, message)
            self.store.set_task(task_id, st.DONE, result_json(message))
        else:
            self.store.set_task(
                task_id,
                st.ERROR,
                {"error": f"{type(message).__name__} does not answer {type(request).__name__}"},
            )
        return self._next_task()

    def _next_task(self) -> Reply:
        assert self.device_id is not None
        while (pending := self.store.next_pending(self.device_id)) is not None:
            task_id, task = pending
            try:
                request = task_request(task)
            except TaskError as exc:
                self.store.set_task(task_id, st.ERROR, {"error": str(exc)})
                continue
            cwmp_id = f"task-{task_id}"
            self._in_flight = (task_id, request, cwmp_id)
            self.store.set_task(task_id, st.SENT)
            return Reply(200, self._envelope(request, cwmp_id))
        self.state = DONE
        self.store.session_ended(self.sid, "completed")
        return Reply(204, ended=True)

    def _learn(self, request: Any, response: Any) -> None:
        """Keep what the answers teach: values read, and CR credentials the ACS set."""
        assert self.device_id is not None
        if isinstance(response, rpc.GetParameterValuesResponse):
            self.store.set_parameters(
                self.device_id, [(p.name, p.value, p.type) for p in response.parameter_list]
            )
        elif isinstance(request, rpc.SetParameterValues):
            # like a CPE, never echo a password value back (TR-181: Password reads as "")
            self.store.set_parameters(
                self.device_id,
                [
                    (p.name, "" if p.name.endswith("Password") else p.value, p.type)
                    for p in request.parameter_list
                ],
            )
            for p in request.parameter_list:
                if p.name.endswith("ManagementServer.ConnectionRequestUsername"):
                    self.store.set_cr_credentials(self.device_id, p.value, None)
                elif p.name.endswith("ManagementServer.ConnectionRequestPassword"):
                    self.store.set_cr_credentials(self.device_id, None, p.value)
