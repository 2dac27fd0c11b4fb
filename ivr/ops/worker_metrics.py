"""The call workers' metrics merged into the one ``/metrics`` of ``pln123 serve --workers N``.

Each call worker counts its calls in its own memory and shows them, in
prometheus_client's text format, on a private endpoint; the web process reads every
worker's text with prometheus_client's parser and writes the lot out again through a
custom collector (the client's documented ``Collector`` interface), so the client still
writes the exposition: one family per name, HELP and TYPE once each.

Every series of a call worker gets the label ``worker`` (``agi-1`` ...): a dashboard sums
over it, and a worker started again is a counter reset of its own series only, which
``rate()`` and ``increase()`` handle. The web process's own families listed in
``web_side`` (AMI's queue figures) keep their labels; its copies of the call-side
families (always zero: it takes no calls) are left out. ``pln123_workers_up`` and
``pln123_worker_up`` say which workers answered.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry

log = logging.getLogger(__name__)

#: The label naming the call worker a series comes from.
WORKER_LABEL = "worker"
#: How many call workers answered the scrape.
WORKERS_UP = "pln123_workers_up"
#: Per call worker: 1 when it answered the scrape, 0 when not.
WORKER_UP = "pln123_worker_up"


def parse(text: str) -> list[Metric]:
    """The families of one exposition (prometheus_client's text format)."""
    return list(text_string_to_metric_families(text))


class MergedFamilies(Collector):
    """The web process's own families and every call worker's, as one set of families.

    ``own``: the web process's families (only those named in ``web_side`` are kept);
    ``workers``: each call worker's families by worker name, None for a worker that did
    not answer (counted as down, nothing of it shown).
    """

    def __init__(
        self,
        own: Iterable[Metric],
        workers: Mapping[str, Iterable[Metric] | None],
        web_side: Collection[str],
    ) -> None:
        self._own = list(own)
        self._workers = dict(workers)
        self._web_side = frozenset(web_side)

    def describe(self) -> Iterable[Metric]:
        """Nothing to check at registration: the families are read at each scrape."""
        return []

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for family in self._own:
            if family.name in self._web_side:
                _add(merged, family, None)
        for worker, families in sorted(self._workers.items()):
            for family in families or ():
                if family.name not in self._web_side:
                    _add(merged, family, worker)
        yield from merged.values()
        up = GaugeMetricFamily(WORKERS_UP, "Call workers that answered this scrape.")
        up.add_metric([], sum(families is not None for families in self._workers.values()))
        yield up
        each = GaugeMetricFamily(
            WORKER_UP, "1 when the call worker answered this scrape, else 0.", labels=[WORKER_LABEL]
        )
        for worker, families in sorted(self._workers.items()):
            each.add_metric([worker], 0.0 if families is None else 1.0)
        yield each


def _add(merged: dict[str, Metric], family: Metric, worker: str | None) -> None:
    """Add ``family``'s samples to the family of its name in ``merged`` (made from the
    first one seen), labelled with ``worker`` unless None."""
    into = merged.get(family.name)
    if into is None:
        into = merged[family.name] = Metric(family.name, family.documentation, family.type)
    elif into.type != family.type:  # a worker of another version: its series are left out
        log.warning(
            "metrics: %s is a %s in worker %s but a %s elsewhere; its series are left out",
            family.name,
            family.type,
            worker,
            into.type,
        )
        return
    for sample in family.samples:
        labels = sample.labels if worker is None else {**sample.labels, WORKER_LABEL: worker}
        into.samples.append(sample._replace(labels=labels))


def merged_exposition(
    own: str, workers: Mapping[str, str | None], web_side: Collection[str]
) -> bytes:
    """One exposition of the web process's (``own``) and every call worker's text (None:
    the worker did not answer); see :class:`MergedFamilies`."""
    parsed: dict[str, list[Metric] | None] = {}
    for worker, text in workers.items():
        if text is None:
            parsed[worker] = None
            continue
        try:
            parsed[worker] = parse(text)
        except ValueError as exc:  # not what a worker writes: shown as down
            log.warning("metrics of worker %s cannot be read: %s", worker, exc)
            parsed[worker] = None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MergedFamilies(parse(own), parsed, web_side))
    return generate_latest(registry)
