"""One CWMP session from the CPE's side, TR-069 §3.7.1, as a sans-IO state machine.

Inform → InformResponse → CPE requests (TransferComplete …) while HoldRequests is false →
one empty POST → ACS requests answered one by one → the session ends when the ACS answers
an empty HTTP response after that empty POST (§3.7.1.4). The machine takes decoded
envelopes, HTTP statuses and the clock in, and says what to POST next, which ACS request
to execute, or that the session is over. It never does I/O and never raises on bad input.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from proxier.cwmp.faults import fault
from proxier.cwmp.rpc import (
    AcsRequest,
    AddObject,
    AutonomousTransferComplete,
    AutonomousTransferCompleteResponse,
    CancelTransfer,
    CpeRequest,
    CpeResponse,
    DeleteObject,
    Download,
    Envelope,
    FactoryReset,
    Fault,
    GetAllQueuedTransfers,
    GetParameterAttributes,
    GetParameterNames,
    GetParameterValues,
    GetQueuedTransfers,
    GetRPCMethods,
    GetRPCMethodsResponse,
    Inform,
    InformResponse,
    Reboot,
    ScheduleDownload,
    ScheduleInform,
    SetParameterAttributes,
    SetParameterValues,
    TransferComplete,
    TransferCompleteResponse,
    Upload,
)

#: §3.7.1.4: no HTTP response for "not less than 30 seconds" ends the session unsuccessfully.
DEFAULT_TIMEOUT = 30.0
#: How often one request is re-sent after "8005 Retry request" before giving up.
MAX_RETRY_REQUESTS = 5
#: Fault code "Retry request" (§3.7.1.6).
RETRY_REQUEST = 8005

CPE_REQUEST_TYPES = (
    GetRPCMethods,
    GetParameterNames,
    GetParameterValues,
    SetParameterValues,
    GetParameterAttributes,
    SetParameterAttributes,
    AddObject,
    DeleteObject,
    Reboot,
    FactoryReset,
    Download,
    Upload,
    ScheduleInform,
    GetQueuedTransfers,
    GetAllQueuedTransfers,
    CancelTransfer,
    ScheduleDownload,
)

_RESPONSE_TO: dict[type, type] = {
    Inform: InformResponse,
    TransferComplete: TransferCompleteResponse,
    AutonomousTransferComplete: AutonomousTransferCompleteResponse,
    GetRPCMethods: GetRPCMethodsResponse,
}

#: SupportedCWMPVersions header value sent with the Inform (reference §4.1).
SUPPORTED_VERSIONS = "1.0,1.1,1.2,1.3,1.4"
#: HTTP statuses after an Inform that do not hint at a CWMP version problem.
_NOT_VERSION_HINTS = frozenset({401, 403, 407, 429, 503})


class State(Enum):
    IDLE = "idle"
    AWAIT_INFORM_RESPONSE = "await InformResponse"
    AWAIT_RESPONSE = "await response to a CPE request"
    AWAIT_REPLY = "await ACS reply"
    EXECUTING = "executing an ACS request"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Post:
    """POST this envelope to the ACS; `None` is the empty POST."""

    envelope: Envelope | None


@dataclass(frozen=True, slots=True)
class Execute:
    """Execute this ACS request and give the result to `CpeSession.respond`."""

    request: CpeRequest
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Finished:
    """The session ended: successfully (`ok`) or not, with the reason for the log."""

    ok: bool
    reason: str = ""


Action = Post | Execute | Finished


class CpeSession:
    """The CPE side of one session. Create, `start()`, then feed every ACS reply in."""

    def __init__(
        self,
        inform: Inform,
        requests: Sequence[AcsRequest] = (),
        *,
        version: str = "1.2",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.inform = inform
        self.version = version
        self.timeout = timeout
        self.state = State.IDLE
        #: True once the InformResponse arrived (the events it confirms are delivered).
        self.informed = False
        #: CPE requests the ACS answered successfully, in order.
        self.confirmed: list[AcsRequest] = []
        #: The failure hints that the ACS does not accept this CWMP version (§3.2.1.1).
        self.version_suspect = False
        self.result: Finished | None = None
        self._pending: deque[AcsRequest] = deque(requests)
        self._outstanding: Envelope | None = None
        self._retries = 0
        self._hold = False
        self._final_empty_sent = False
        self._executing: Envelope | None = None
        self._deadline: float | None = None
        self._next_id = 1

    # --- inputs ------------------------------------------------------------------------------

    def start(self, now: float) -> Post:
        """The Inform that opens the session (§3.7.1.1)."""
        if self.state is not State.IDLE:
            raise RuntimeError("session already started")
        self.state = State.AWAIT_INFORM_RESPONSE
        return self._send_request(self.inform, now)

    def add_request(self, request: AcsRequest) -> bool:
        """A CPE request that became due during the session; False if it may no longer be
        sent in this session (the final empty POST is gone, §3.7.1.3)."""
        if self._final_empty_sent or self.result is not None:
            return False
        self._pending.append(request)
        return True

    def receive(self, status: int, envelope: Envelope | None, now: float) -> Action:
        """The ACS answered our last POST with HTTP `status` and `envelope` (None = empty)."""
        if self.state in (State.DONE, State.FAILED) or self.result is not None:
            return self._finished()
        if self.state in (State.IDLE, State.EXECUTING):
            return self._fail("reply received while none was awaited")
        self._deadline = None
        if status >= 400 or status < 200:
            if self.state is State.AWAIT_INFORM_RESPONSE and status not in _NOT_VERSION_HINTS:
                self.version_suspect = True
            return self._fail(f"HTTP {status}")
        if envelope is None:
            return self._on_empty(now)
        if self.state is State.AWAIT_INFORM_RESPONSE:
            return self._on_inform_reply(envelope, now)
        if self.state is State.AWAIT_RESPONSE:
            return self._on_response(envelope, now)
        return self._on_acs_message(envelope, now)

    def receive_malformed(
        self, fault_code: int, fault_string: str, cwmp_id: str | None, now: float
    ) -> Action:
        """The ACS sent a body the codec could not turn into an Envelope.

        An ACS request we cannot understand gets the codec's fault (9000 unknown method,
        9003 bad arguments …); a response we cannot parse ends the session (§3.7.1.4).
        """
        if self.state is State.AWAIT_REPLY and 9000 <= fault_code <= 9899:
            self._deadline = None
            envelope = Envelope(
                fault(fault_code, fault_string), cwmp_id=cwmp_id, version=self.version
            )
            return self._post(envelope, now)
        return self._fail(f"malformed ACS message ({fault_code} {fault_string})")

    def respond(self, message: CpeResponse | Fault, now: float) -> Post:
        """The result of the request handed out by `Execute`, as the next POST (§3.7.1.2)."""
        if self.state is not State.EXECUTING or self._executing is None:
            raise RuntimeError("no ACS request is being executed")
        request = self._executing
        self._executing = None
        envelope = Envelope(message, cwmp_id=request.cwmp_id, version=request.version)
        self.state = State.AWAIT_REPLY
        return self._post(envelope, now)

    def fail(self, reason: str) -> Finished:
        """The transport failed (connection, TLS, authentication …)."""
        return self._fail(reason)

    # --- timer -------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """When the ACS's reply is overdue, or None if no reply is awaited."""
        return self._deadline

    def handle_timer(self, now: float) -> Finished | None:
        if self._deadline is not None and now >= self._deadline:
            return self._fail(f"no HTTP response within {self.timeout:g} s")
        return None

    # --- transitions -------------------------------------------------------------------------

    def _on_inform_reply(self, envelope: Envelope, now: float) -> Action:
        body = envelope.body
        if isinstance(body, InformResponse):
            self.informed = True
            # §3.7.1.1: a v1.0 ACS makes us revert to 1.0; otherwise speak the ACS's version
            # (a CWMP 1.4 ACS may also say so with UseCWMPVersion).
            self.version = "1.0" if envelope.use_cwmp_version == "1.0" else envelope.version
            self._hold = bool(envelope.hold_requests)
            return self._next_post(now)
        if isinstance(body, Fault):
            if body.fault_code == RETRY_REQUEST:
                return self._resend(now)
            self.version_suspect = True
            return self._fail(f"Inform fault {body.fault_code} {body.fault_string}")
        return self._fail(f"expected InformResponse, got {type(body).__name__}")

    def _on_response(self, envelope: Envelope, now: float) -> Action:
        assert self._outstanding is not None
        request = self._outstanding.body
        body = envelope.body
        self._hold = bool(envelope.hold_requests)
        if isinstance(body, Fault):
            if body.fault_code == RETRY_REQUEST:
                return self._resend(now)
            # §3.7.1.4/§3.7.1.6: any other fault lets the session go on, without retrying.
            self._outstanding = None
            return self._next_post(now)
        if isinstance(body, _RESPONSE_TO.get(type(request), ())):
            self.confirmed.append(request)  # type: ignore[arg-type]
            self._outstanding = None
            return self._next_post(now)
        return self._fail(f"expected a response to {type(request).__name__}")

    def _on_acs_message(self, envelope: Envelope, now: float) -> Action:
        body = envelope.body
        if isinstance(body, CPE_REQUEST_TYPES):
            self._hold = bool(envelope.hold_requests)
            self._executing = envelope
            self.state = State.EXECUTING
            return Execute(body, envelope)
        return self._fail(f"unexpected {type(body).__name__} from the ACS")

    def _on_empty(self, now: float) -> Action:
        if self.state is not State.AWAIT_REPLY:
            what = "InformResponse" if self.state is State.AWAIT_INFORM_RESPONSE else "response"
            return self._fail(f"empty HTTP response where a {what} was due")
        self._hold = False  # an empty response allows requests (§3.7.1.3)
        if self._final_empty_sent:
            self.state = State.DONE
            self.result = Finished(True)
            return self.result
        return self._next_post(now)

    def _next_post(self, now: float) -> Post:
        """Table 6: a CPE request if allowed and pending, else the empty POST."""
        if not self._hold and not self._final_empty_sent and self._pending:
            self.state = State.AWAIT_RESPONSE
            return self._send_request(self._pending.popleft(), now)
        if not self._hold:
            self._final_empty_sent = True
        self.state = State.AWAIT_REPLY
        return self._post(None, now)

    def _send_request(self, request: AcsRequest, now: float) -> Post:
        envelope = Envelope(
            request,
            cwmp_id=str(self._next_id),
            version=self.version,
            # CWMP 1.4 header on the Inform; a v1.0 retry (§3.2.1.1) carries no 1.4 header.
            supported_cwmp_versions=SUPPORTED_VERSIONS
            if isinstance(request, Inform) and self.version != "1.0"
            else None,
        )
        self._next_id += 1
        self._outstanding = envelope
        self._retries = 0
        return self._post(envelope, now)

    def _resend(self, now: float) -> Action:
        """§3.7.1.6: after "8005 Retry request", resend the identical request."""
        assert self._outstanding is not None
        self._retries += 1
        if self._retries > MAX_RETRY_REQUESTS:
            return self._fail("ACS kept answering 8005 Retry request")
        return self._post(self._outstanding, now)

    def _post(self, envelope: Envelope | None, now: float) -> Post:
        self._deadline = now + self.timeout
        return Post(envelope)

    def _fail(self, reason: str) -> Finished:
        if self.result is None:
            self.state = State.FAILED
            self._deadline = None
            self.result = Finished(False, reason)
        return self.result

    def _finished(self) -> Finished:
        assert self.result is not None
        return self.result
