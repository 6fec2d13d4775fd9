"""Prometheus metrics.

Counters that several processes add to (events handled, sends by outcome)
live in one Redis hash (``Keys.counters``, field ``metric|label``) and are
bumped atomically with the work they count, so ``/metrics`` on any web process
shows the deployment's totals. Request counters of this process live in a
per-app prometheus_client registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# Redis-backed counters: metric name -> (help, label names)
SHARED_COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "salebell_events_total": ("Events handled, once each after de-duplication", ("kind",)),
    "salebell_events_failed_total": ("Events whose handlers kept failing (dead-lettered)", ("kind",)),
    "salebell_events_rejected_total": ("Webhook parts that could not become events", ("reason",)),
    "salebell_sends_total": ("Outgoing messages by outcome and reason", ("outcome", "reason")),
    "salebell_send_retries_total": ("Send jobs put off to be tried again, by why", ("reason",)),
}


class AppMetrics:
    """The metrics of one web process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhook_requests = Counter(
            "salebell_webhook_requests", "Webhook requests by HTTP status", ["status"], registry=self.registry
        )
        self._shared = _SharedCounters()
        self.registry.register(self._shared)

    def render(self, shared: Mapping[str, Mapping[bytes | str, bytes | str]],
               gauges: Mapping[str, Mapping[str, float]]) -> bytes:
        """Text exposition, with each Page's Redis-backed counters and gauges (page id -> values) read just before."""
        self._shared.snapshot = shared
        self._shared.gauges = gauges
        return generate_latest(self.registry)


class _SharedCounters(Collector):
    """The counters and gauges kept in Redis, each with the ``page`` label of the Page they count."""

    def __init__(self) -> None:
        self.snapshot: Mapping[str, Mapping[bytes | str, bytes | str]] = {}
        self.gauges: Mapping[str, Mapping[str, float]] = {}

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        families = {
            name: CounterMetricFamily(name.removesuffix("_total"), help_, labels=["page", *labels])
            for name, (help_, labels) in SHARED_COUNTERS.items()
        }
        for page_id, counters in self.snapshot.items():
            for raw_field, raw_value in counters.items():
                field = raw_field.decode() if isinstance(raw_field, bytes) else raw_field
                metric, _, label = field.partition("|")
                name = "salebell_" + metric
                if name not in families:
                    continue
                values = label.split("|")
                if len(values) != len(SHARED_COUNTERS[name][1]):
                    continue
                families[name].add_metric([page_id, *values], float(raw_value))
        yield from families.values()
        gauges: dict[str, GaugeMetricFamily] = {}
        for page_id, page_gauges in self.gauges.items():
            for name, value in page_gauges.items():
                if name not in gauges:
                    gauges[name] = GaugeMetricFamily(name, name.replace("_", " "), labels=["page"])
                gauges[name].add_metric([page_id], value)
        yield from gauges.values()
