"""The Prometheus metrics the IVR exposes on ``/metrics`` (names prefixed ``pln123_``).

One registry of the process's own (not prometheus_client's global one, so a test or a
benchmark that builds several IVRs in one process counts each from zero through
:func:`fresh_registry`). The engine reports calls and node exits through
:class:`ivr.ops.live.MetricsWatcher`; the AGI connection, the guarded backends and the
queue log (from AMI queue events) observe their own figures here. Code reads
:data:`METRICS` through this module at each use (``metrics.METRICS.calls``), never a
name imported once, so that :func:`fresh_registry` takes effect everywhere. The
metrics updated on every AGI command or node exit are :mod:`ivr.fast_metrics` ones.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from ivr.fast_metrics import FastCounter, FastHistogram


class Metrics:
    """Every metric of one IVR process, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.calls = Counter(
            "pln123_calls",
            "Calls ended, by the flow they ran and their outcome (contained, cso, abandoned).",
            ["flow", "outcome"],
            registry=registry,
        )
        self.cso_reasons = Counter(
            "pln123_cso_calls",
            "Calls queued to a CSO, by flow and by who asked (caller, flow, retries,"
            " backend, timeout, error).",
            ["flow", "reason"],
            registry=registry,
        )
        self.node_exits = FastCounter(
            "pln123_node_exits",
            "Node exits: each node a call left, and how (next, noinput, nomatch,"
            " hangup, cso, error, end).",
            ["flow", "node", "exit"],
            registry,
        )
        self.active_calls = Gauge(
            "pln123_active_calls", "Calls the IVR holds now.", registry=registry
        )
        self.ivr_seconds = Histogram(
            "pln123_call_ivr_seconds",
            "Seconds a call spent in the IVR, from the AGI request to its outcome.",
            ["flow"],
            buckets=(5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600),
            registry=registry,
        )
        self.agi_command_seconds = FastHistogram(
            "pln123_agi_command_seconds",
            "Seconds from sending an AGI command to Asterisk's answer, for commands that"
            " do not wait for the caller.",
            [],
            (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry,
        )
        self.backend_seconds = FastHistogram(
            "pln123_backend_seconds",
            "Seconds one backend call took, by backend call and result (ok, error, timeout).",
            ["backend", "result"],
            (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry,
        )
        self.queue_waiting = Gauge(
            "pln123_queue_waiting",
            "Callers waiting in a CSO queue now (from AMI queue events).",
            ["queue"],
            registry=registry,
        )

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


#: Families only the web process of ``pln123 serve --workers N`` updates (from AMI); the
#: others are the call workers', merged per worker (:mod:`ivr.ops.worker_metrics`).
WEB_FAMILIES = frozenset({"pln123_queue_waiting"})

#: The process's metrics.
METRICS = Metrics()


def fresh_registry() -> Metrics:
    """Start the process's metrics from zero (tests and benchmarks)."""
    global METRICS
    METRICS = Metrics()
    return METRICS
