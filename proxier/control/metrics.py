"""`/metrics`: the proxier's Prometheus exposition, one CollectorRegistry per Proxier.

prometheus_client does the text format, escaping, histogram buckets and content
negotiation; counters are fed by hooks (sessions, faults, events, Connection Requests, UPnP
actions), gauges are computed at scrape time from the live device table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, exposition
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from proxier.upnp.client import SoapTransport

if TYPE_CHECKING:
    from proxier.virtual.device import VirtualDevice

#: UPnP actions answer in milliseconds on a LAN; timeouts are seconds (upnp.action_timeout).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Live(Collector):
    """Devices by state and pending events, read when scraped (never stale)."""

    def __init__(self, devices: Callable[[], Sequence[VirtualDevice]]) -> None:
        self._devices = devices

    def collect(self) -> Iterable[Metric]:
        devices = self._devices()
        by_state = GaugeMetricFamily(
            "proxier_devices", "Virtual CWMP Devices by state", labels=["state"]
        )
        online = sum(1 for d in devices if d.online)
        by_state.add_metric(["online"], online)
        by_state.add_metric(["offline"], len(devices) - online)
        yield by_state
        pending = GaugeMetricFamily(
            "proxier_pending_events", "Undelivered CWMP events over all virtual devices"
        )
        pending.add_metric([], sum(len(d.store.events()) for d in devices))
        yield pending


class Metrics:
    """The metric objects of one proxier and its exposition."""

    def __init__(self, devices: Callable[[], Sequence[VirtualDevice]]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sessions = Counter(
            "proxier_sessions", "CWMP sessions by result", ["result"], registry=r
        )
        self.faults = Counter(
            "proxier_faults", "CWMP faults answered to the ACS by fault code", ["code"], registry=r
        )
        self.events = Counter(
            "proxier_events", "CWMP events raised by event code", ["code"], registry=r
        )
        self.connection_requests = Counter(
            "proxier_connection_requests",
            "Connection Requests by outcome (accepted, refused, unauthorized, rate_limited)",
            ["result"],
            registry=r,
        )
        self.upnp_latency = Histogram(
            "proxier_upnp_action_seconds",
            "UPnP action round trip by action and outcome",
            ["action", "result"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        r.register(_Live(devices))

    def session(self, ok: bool) -> None:
        self.sessions.labels("ok" if ok else "failed").inc()

    def fault(self, code: int) -> None:
        self.faults.labels(str(code)).inc()

    def event(self, code: str) -> None:
        self.events.labels(code).inc()

    def connection_request(self, outcome: str) -> None:
        self.connection_requests.labels(outcome).inc()

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        encoder, content_type = exposition.choose_encoder(accept)
        return encoder(self.registry), content_type


class TimedSoapTransport(SoapTransport):
    """The shared SOAP transport, timing every action into the latency histogram."""

    def __init__(self, *args: object, metrics: Metrics, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._histogram = metrics.upnp_latency

    async def invoke(
        self,
        control_url: str,
        service_type: str,
        action: str,
        arguments: Sequence[tuple[str, str]] = (),
        out: Sequence[str] = (),
        *,
        time_limit: float | None = None,
    ) -> Mapping[str, str]:
        started = time.monotonic()
        result = "error"
        try:
            answer = await super().invoke(
                control_url, service_type, action, arguments, out, time_limit=time_limit
            )
            result = "ok"
            return answer
        finally:
            self._histogram.labels(action, result).observe(time.monotonic() - started)
