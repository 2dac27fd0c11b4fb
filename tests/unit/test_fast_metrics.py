"""The hot-path counters and histograms write the same text format as the client's own."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from ivr.fast_metrics import FastCounter, FastHistogram

BOUNDS = (0.001, 0.01, 0.1)


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_a_histogram_matches_prometheus_clients_own_on_and_between_bounds() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    fast = FastHistogram("pln123_x_seconds", "X.", [], BOUNDS, ours)
    client = Histogram("pln123_x_seconds", "X.", buckets=BOUNDS, registry=theirs)
    for value in (0.0005, 0.001, 0.002, 0.01, 0.05, 0.1, 3.0):
        fast.observe(value)
        client.observe(value)
    assert _samples(ours) == _samples(theirs)
    text = generate_latest(ours).decode()
    assert 'pln123_x_seconds_bucket{le="0.001"} 2.0' in text  # a value on a bound is in it
    assert 'pln123_x_seconds_bucket{le="+Inf"} 7.0' in text
    assert "pln123_x_seconds_count 7.0" in text


def test_a_counter_counts_each_label_set_and_is_exposed_as_total() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    counter = FastCounter("pln123_y", "Y.", ["flow", "exit"], ours)
    client = Counter("pln123_y", "Y.", ["flow", "exit"], registry=theirs)
    for fast_or_client in (counter, client):
        fast_or_client.labels("main", "next").inc()
        fast_or_client.labels("main", "next").inc()
        fast_or_client.labels("main", "hangup").inc(3)
    assert _samples(ours) == _samples(theirs)
    text = generate_latest(ours).decode()
    assert "# TYPE pln123_y_total counter" in text
    assert 'pln123_y_total{exit="next",flow="main"} 2.0' in text
    assert 'pln123_y_total{exit="hangup",flow="main"} 3.0' in text


def test_wrong_labels_are_refused() -> None:
    registry = CollectorRegistry()
    counter = FastCounter("pln123_z", "Z.", ["flow"], registry)
    histogram = FastHistogram("pln123_w_seconds", "W.", ["backend"], BOUNDS, registry)
    with pytest.raises(ValueError, match="takes labels"):
        counter.labels("main", "extra")
    with pytest.raises(ValueError, match="use labels"):
        histogram.observe(0.1)
