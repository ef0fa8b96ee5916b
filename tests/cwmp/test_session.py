"""The sans-IO CPE session state machine, TR-069 §3.7.1 (no I/O, clock passed in)."""

from __future__ import annotations

from datetime import UTC, datetime

from proxier.cwmp.rpc import (
    DeviceIdStruct,
    Envelope,
    EventStruct,
    Fault,
    FaultStruct,
    GetRPCMethods,
    GetRPCMethodsResponse,
    Inform,
    InformResponse,
    TransferComplete,
    TransferCompleteResponse,
)
from proxier.cwmp.session import CpeSession, Execute, Finished, Post, State

NOW = 1000.0
INFORM = Inform(
    DeviceIdStruct("Acme", "00D09E", "Lamp", "SN-1"),
    (EventStruct("1 BOOT"),),
    1,
    datetime(2026, 1, 1, tzinfo=UTC),
    0,
    (),
)
TC = TransferComplete("k", FaultStruct(), datetime(2026, 1, 1, tzinfo=UTC), datetime.now(UTC))


def env(body: object, **kw: object) -> Envelope:
    return Envelope(body, **kw)  # type: ignore[arg-type]


def started(requests: tuple[TransferComplete, ...] = ()) -> tuple[CpeSession, Post]:
    s = CpeSession(INFORM, requests)
    return s, s.start(NOW)


def test_minimal_session() -> None:
    """§3.7.1: Inform → InformResponse → empty POST → empty response ends it."""
    s, first = started()
    assert first.envelope is not None and first.envelope.body == INFORM
    assert first.envelope.version == "1.2" and first.envelope.supported_cwmp_versions
    second = s.receive(200, env(InformResponse(1)), NOW)
    assert second == Post(None)
    assert s.informed
    assert s.receive(204, None, NOW) == Finished(True)
    assert s.state is State.DONE


def test_cpe_requests_before_empty_post() -> None:
    """§3.7.1.3: TransferComplete is sent after InformResponse, then the empty POST."""
    s, _ = started((TC,))
    out = s.receive(200, env(InformResponse()), NOW)
    assert isinstance(out, Post) and out.envelope is not None and out.envelope.body == TC
    assert s.receive(200, env(TransferCompleteResponse()), NOW) == Post(None)
    assert s.confirmed == [TC]
    assert s.receive(204, None, NOW) == Finished(True)


def test_hold_requests_delays_cpe_requests() -> None:
    """§3.7.1.3 Table 6: while HoldRequests is true the CPE sends only responses and
    empty POSTs; requests go once the ACS allows them."""
    s, _ = started((TC,))
    assert s.receive(200, env(InformResponse(), hold_requests=True), NOW) == Post(None)
    action = s.receive(200, env(GetRPCMethods(), cwmp_id="a", hold_requests=True), NOW)
    assert isinstance(action, Execute)
    post = s.respond(GetRPCMethodsResponse(("Inform",)), NOW)
    assert post.envelope is not None and post.envelope.cwmp_id == "a"
    # An empty reply lifts HoldRequests: now the TransferComplete may go.
    out = s.receive(204, None, NOW)
    assert isinstance(out, Post) and out.envelope is not None and out.envelope.body == TC
    assert s.receive(200, env(TransferCompleteResponse()), NOW) == Post(None)
    assert s.receive(204, None, NOW) == Finished(True)


def test_single_empty_post_then_acs_requests() -> None:
    """§3.7.1.3/§3.7.1.4: after the empty POST (HoldRequests false) the CPE never sends
    another request nor a second empty POST; the session ends on the empty response that
    follows its last response (GenieACS Q5)."""
    s, _ = started()
    assert s.receive(200, env(InformResponse()), NOW) == Post(None)
    s.add_request(TC)  # became due too late: waits for a later session
    for i in range(3):
        action = s.receive(200, env(GetRPCMethods(), cwmp_id=str(i)), NOW)
        assert isinstance(action, Execute)
        post = s.respond(GetRPCMethodsResponse(()), NOW)
        assert post.envelope is not None
    assert s.receive(204, None, NOW) == Finished(True)
    assert s.confirmed == []


def test_response_in_request_namespace_and_v10_revert() -> None:
    """§3.7.1.1: an InformResponse in cwmp-1-0 reverts the session to v1.0."""
    s, _ = started()
    assert s.receive(200, env(InformResponse(), version="1.0"), NOW) == Post(None)
    assert s.version == "1.0"
    action = s.receive(200, env(GetRPCMethods(), cwmp_id="9", version="1.0"), NOW)
    assert isinstance(action, Execute)
    post = s.respond(GetRPCMethodsResponse(()), NOW)
    assert post.envelope is not None and post.envelope.version == "1.0"


def test_retry_request_fault_resends_identical() -> None:
    """§3.7.1.6: fault 8005 → the identical request in the next POST."""
    s, first = started()
    again = s.receive(200, env(Fault(8005, "Retry request")), NOW)
    assert again == first
    s2, _ = started((TC,))
    tc_post = s2.receive(200, env(InformResponse()), NOW)
    assert s2.receive(200, env(Fault(8005, "Retry request")), NOW) == tc_post


def test_inform_fault_fails_and_suspects_version() -> None:
    """§3.7.1.4: a fault other than 8005 to the Inform ends the session unsuccessfully;
    §3.2.1.1: a hint to retry as v1.0."""
    s, _ = started()
    result = s.receive(200, env(Fault(8003, "Invalid arguments")), NOW)
    assert isinstance(result, Finished) and not result.ok
    assert s.version_suspect


def test_http_errors_fail_the_session() -> None:
    """§3.7.1.4: a 4xx/5xx status ends the session unsuccessfully; 503 is overload, not a
    version hint (GenieACS Q7)."""
    s, _ = started()
    assert s.receive(400, None, NOW) == Finished(False, "HTTP 400")
    assert s.version_suspect
    s2, _ = started()
    assert not s2.receive(503, None, NOW).ok  # type: ignore[union-attr]
    assert not s2.version_suspect


def test_fault_to_cpe_request_continues_session() -> None:
    """§3.7.1.4: a fault (not 8005) to a method other than Inform continues the session and
    the method is not retried within it."""
    s, _ = started((TC,))
    s.receive(200, env(InformResponse()), NOW)
    assert s.receive(200, env(Fault(8002, "Internal error")), NOW) == Post(None)
    assert s.confirmed == []
    assert s.receive(204, None, NOW) == Finished(True)


def test_timeout_without_reply() -> None:
    """§3.7.1.4: no HTTP response for the session timeout (≥ 30 s) → unsuccessful."""
    s, _ = started()
    assert s.get_timer() == NOW + 30
    assert s.handle_timer(NOW + 29.9) is None
    result = s.handle_timer(NOW + 30)
    assert isinstance(result, Finished) and not result.ok and "30" in result.reason
    assert s.get_timer() is None


def test_protocol_violations_fail() -> None:
    """§3.7.1.4: responses that violate the protocol end the session unsuccessfully."""
    s, _ = started()
    assert not s.receive(204, None, NOW).ok  # type: ignore[union-attr]  # no InformResponse
    s, _ = started()
    s.receive(200, env(InformResponse()), NOW)
    bad = s.receive(200, env(InformResponse()), NOW)  # a response where a request/empty was due
    assert isinstance(bad, Finished) and not bad.ok
    s, _ = started((TC,))
    s.receive(200, env(InformResponse()), NOW)
    bad = s.receive(200, env(GetRPCMethods()), NOW)  # a request while ours is outstanding
    assert isinstance(bad, Finished) and not bad.ok


def test_malformed_acs_request_answered_with_fault() -> None:
    """§3.7.1.4/A.5: an unparseable ACS request gets the codec's fault code and the ID;
    an unparseable response ends the session."""
    s, _ = started()
    s.receive(200, env(InformResponse()), NOW)
    post = s.receive_malformed(9003, "Invalid arguments: x", "id-5", NOW)
    assert isinstance(post, Post) and post.envelope is not None
    assert isinstance(post.envelope.body, Fault) and post.envelope.body.fault_code == 9003
    assert post.envelope.cwmp_id == "id-5"
    assert s.receive(204, None, NOW) == Finished(True)
    s2, _ = started()
    result = s2.receive_malformed(9003, "garbage", None, NOW)
    assert isinstance(result, Finished) and not result.ok


def test_transport_failure_and_finished_is_sticky() -> None:
    """A failed attempt stays failed whatever arrives later."""
    s, _ = started()
    assert s.fail("connection refused") == Finished(False, "connection refused")
    assert s.receive(200, env(InformResponse()), NOW) == Finished(False, "connection refused")


def test_use_cwmp_version_header() -> None:
    """CWMP 1.4 UseCWMPVersion (reference §4.1): "1.0" makes the session v1.0 even in a
    later namespace; other values keep the ACS's namespace."""
    s, _ = started()
    s.receive(200, env(InformResponse(), version="1.2", use_cwmp_version="1.0"), NOW)
    assert s.version == "1.0"
    s2, _ = started()
    s2.receive(200, env(InformResponse(), version="1.2", use_cwmp_version="1.4"), NOW)
    assert s2.version == "1.2"
