"""Counters and histograms cheap enough for the per-command and per-node hot path.

prometheus_client's ``Counter`` and ``Histogram`` take a lock on every update and
``labels()`` builds and looks up a key each time; the IVR updates a metric on every
AGI command and every node a call leaves, tens of times per call, on one event loop
thread. These keep plain numbers instead (updated only from the event loop) and hand
them to prometheus_client as a custom collector (its documented ``Collector``
interface), which still writes the exposition text. They offer the part of the
client's API the IVR uses: ``labels(*values)`` and ``inc()`` / ``observe()``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString


class CounterChild:
    """One labelled series of a :class:`FastCounter`."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class FastCounter(Collector):
    """A counter with labels; exposed as ``<name>_total``."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = list(labelnames)
        self._children: dict[tuple[str, ...], CounterChild] = {}
        registry.register(self)

    def labels(self, *values: str) -> CounterChild:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self._labelnames):
                raise ValueError(f"{self._name} takes labels {self._labelnames}, not {values}")
            child = self._children[values] = CounterChild()
        return child

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for values, child in list(self._children.items()):
            family.add_metric(list(values), child.value)
        return [family]


class HistogramChild:
    """One labelled series of a :class:`FastHistogram` (or the histogram itself)."""

    __slots__ = ("_bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        #: Observations per bucket, not cumulative; the last is above every bound.
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        # Prometheus buckets are "less than or equal": a value on a bound is in it.
        self.counts[bisect_left(self._bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts by upper bound, ``+Inf`` last, as the text format has them."""
        pairs: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self._bounds, float("inf")), self.counts, strict=True):
            running += count
            pairs.append((floatToGoString(bound), running))  # type: ignore[no-untyped-call]
        return pairs


class FastHistogram(Collector):
    """A histogram with fixed buckets, with or without labels."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = list(labelnames)
        self._bounds = tuple(sorted(float(bound) for bound in buckets))
        self._children: dict[tuple[str, ...], HistogramChild] = {}
        self._unlabelled = None if labelnames else self.labels()
        registry.register(self)

    def labels(self, *values: str) -> HistogramChild:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self._labelnames):
                raise ValueError(f"{self._name} takes labels {self._labelnames}, not {values}")
            child = self._children[values] = HistogramChild(self._bounds)
        return child

    def observe(self, value: float) -> None:
        """Observe on a histogram with no labels."""
        if self._unlabelled is None:
            raise ValueError(f"{self._name} has labels {self._labelnames}: use labels()")
        self._unlabelled.observe(value)

    def describe(self) -> Iterable[Metric]:
        return [HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for values, child in list(self._children.items()):
            family.add_metric(list(values), child.buckets(), child.total)
        return [family]
