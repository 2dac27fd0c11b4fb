"""The live view of calls: the engine's journey events counted into Prometheus.

:class:`MetricsWatcher` is the :class:`~ivr.engine.journey.CallWatcher` the IVR hands
to every call. It runs on every node of every call, so it keeps each labelled child
it has used in a dict keyed by its label values: ``Counter.labels(...)`` takes a lock
and builds a key on every use, a dict lookup does neither.

It reads :data:`ivr.metrics.METRICS` through the module on each event, so that
:func:`ivr.metrics.fresh_registry` (tests, benchmarks) takes effect at once; a new
registry empties the cached children.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from ivr import metrics
from ivr.engine.journey import CallResult, CsoReason, Exit
from ivr.fast_metrics import CounterChild


class MetricsWatcher:
    """Counts calls, CSO reasons and node exits, and follows the calls held now."""

    def __init__(self) -> None:
        self._metrics: metrics.Metrics | None = None
        self._exits: dict[tuple[str, str, Exit], CounterChild] = {}
        self._calls: dict[tuple[str, CallResult], Counter] = {}
        self._cso: dict[tuple[str, CsoReason], Counter] = {}
        self._seconds: dict[str, Histogram] = {}

    def _current(self) -> metrics.Metrics:
        """The process's metrics now; the cache is dropped when they were replaced."""
        current = metrics.METRICS
        if current is not self._metrics:
            self._metrics = current
            self._exits.clear()
            self._calls.clear()
            self._cso.clear()
            self._seconds.clear()
        return current

    def call_started(self, flow: str) -> None:
        self._current().active_calls.inc()

    def node_left(self, flow: str, node: str, exit: Exit) -> None:
        # Runs for every node of every call: the cache is checked before the registry.
        child = self._exits.get((flow, node, exit))
        if child is None or metrics.METRICS is not self._metrics:
            current = self._current()
            child = self._exits[flow, node, exit] = current.node_exits.labels(
                flow, node, exit.value
            )
        child.value += 1

    def call_ended(
        self, flow: str, result: CallResult, cso_reason: CsoReason | None, seconds: float
    ) -> None:
        current = self._current()
        calls = self._calls.get((flow, result))
        if calls is None:
            calls = self._calls[flow, result] = current.calls.labels(flow, result.value)
        calls.inc()
        if cso_reason is not None:
            cso = self._cso.get((flow, cso_reason))
            if cso is None:
                cso = self._cso[flow, cso_reason] = current.cso_reasons.labels(
                    flow, cso_reason.value
                )
            cso.inc()
        ivr_seconds = self._seconds.get(flow)
        if ivr_seconds is None:
            ivr_seconds = self._seconds[flow] = current.ivr_seconds.labels(flow)
        ivr_seconds.observe(seconds)
        current.active_calls.dec()
