"""A backend that is slow, down or raising, at every backend method the flows call.

Every backend port of :class:`~ivr.backends.ports.Backends` is wrapped in a proxy that
can break one method; the guarded ports (:func:`ivr.backends.guarded.guarded`, as
``pln123 serve`` runs them, with a 20 ms limit here) sit on top. A first pass over
every scenario of ``tests/scenarios`` notes which scenarios call which method (and the
answers stored before the first call); then, for each method and fault, the scenarios
that pass through it run with the fault: no exception escapes, every call ends with an
outcome, a call handed to a CSO has its pop stored, the answers stored before the
fault are still stored, and no ERROR-level crash trace is logged.

CI runs up to :data:`PER_METHOD` scenarios per method (the first by name);
``PLN123_BACKEND_SCENARIOS=0`` runs every scenario that passes through it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest

from ivr.backends.guarded import guarded
from ivr.backends.ports import (
    AnnouncementPort,
    Ap2tPort,
    ApktPort,
    Backends,
    CallbackPort,
    CrmPort,
    CustomerPort,
    HoursPort,
    ItsmPort,
    OutagePort,
)
from ivr.engine.library import FlowLibrary
from ivr.tools.scenario.model import Expect, Scenario, load_scenario
from tests.fault.harness import (
    OUTCOMES,
    Bench,
    SeededTemplate,
    env_int,
    errors_logged,
    open_bench,
    run_scenario,
    scenario_files,
)

#: Scenarios per method in CI (0: all of them).
PER_METHOD = env_int("PLN123_BACKEND_SCENARIOS", 4)
#: The guard's limit here; a slow backend takes far longer.
BACKEND_TIMEOUT = 0.02
SLOW_SECONDS = 30.0
#: The hours lookup failing is logged once at ERROR on purpose (ops must see that their
#: changes are not applied), without a traceback (ivr/steps/queue_hours.py).
ALLOWED_ERRORS = ("hours: ops' changes cannot be read",)

PORTS: dict[str, type] = {
    "crm": CrmPort,
    "customers": CustomerPort,
    "apkt": ApktPort,
    "callbacks": CallbackPort,
    "ap2t": Ap2tPort,
    "itsm": ItsmPort,
    "outages": OutagePort,
    "announcements": AnnouncementPort,
    "hours": HoursPort,
}
assert set(PORTS) == {f.name for f in fields(Backends)}, "a backend port without a fault test"
METHODS = [
    (port, name)
    for port, protocol in PORTS.items()
    for name in sorted(vars(protocol))
    if not name.startswith("_") and callable(getattr(protocol, name))
]
FAULTS = ("slow", "down", "raising")


@dataclass
class FaultPlan:
    """Which method breaks and how; which methods were called."""

    target: tuple[str, str] | None = None
    fault: str = ""
    called: list[tuple[str, str]] = field(default_factory=list)
    #: Called on the first call of the target (or of each method, with no target).
    on_first: Callable[[tuple[str, str]], None] | None = None

    async def call(
        self, method: tuple[str, str], real: Callable[..., Awaitable[Any]], *args: Any, **kw: Any
    ) -> Any:
        if method not in self.called and self.on_first is not None:
            self.on_first(method)
        self.called.append(method)
        if method == self.target:
            port, name = method
            if self.fault == "slow":
                await asyncio.sleep(SLOW_SECONDS)
            elif self.fault == "down":
                raise ConnectionError(f"{port} unreachable (fault test, {name})")
            else:
                raise RuntimeError(f"fault test: {port}.{name} broke")
        return await real(*args, **kw)


class FaultyPort:
    """A backend port whose every method goes through a :class:`FaultPlan`. It does not
    declare ``runs_on_loop``, so the guard arms its timer as for a network backend."""

    def __init__(self, inner: object, port: str, plan: FaultPlan) -> None:
        self._inner, self._port, self._plan = inner, port, plan

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._inner, name)
        if name.startswith("_") or not callable(real):
            return real
        method = (self._port, name)

        async def call(*args: Any, **kw: Any) -> Any:
            return await self._plan.call(method, real, *args, **kw)

        return call


def faulty(backends: Backends, plan: FaultPlan) -> Backends:
    """``backends`` with every port behind ``plan``, then guarded as ``serve`` runs them."""
    wrapped: dict[str, Any] = {
        f.name: FaultyPort(getattr(backends, f.name), f.name, plan)
        if getattr(backends, f.name) is not None
        else None
        for f in fields(Backends)
    }
    return guarded(Backends(**wrapped), BACKEND_TIMEOUT)


def scenario(path: Path) -> Scenario:
    return load_scenario(path).model_copy(update={"expect": Expect()})


@dataclass(frozen=True)
class Passage:
    """A scenario that calls a method, and the answers stored before its first call."""

    path: Path
    answers_before: list[tuple[str, str]]


def answers_now(bench: Bench) -> list[tuple[str, str]]:
    return list(bench.store.connection.execute("SELECT ask, value FROM answers ORDER BY rowid"))


@pytest.fixture(scope="session")
def passages(
    library: FlowLibrary, template: SeededTemplate, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], list[Passage]]:
    """Which scenarios call each backend method, in name order."""
    folder = tmp_path_factory.mktemp("fault-passages")
    found: dict[tuple[str, str], list[Passage]] = {}

    async def discover() -> None:
        for path in scenario_files():
            with open_bench(template.fresh(folder), backend_timeout=BACKEND_TIMEOUT) as bench:
                plan = FaultPlan()
                plan.on_first = lambda method, bench=bench, path=path: found.setdefault(
                    method, []
                ).append(Passage(path, answers_now(bench)))
                await run_scenario(scenario(path), bench, library, faulty(bench.backends(), plan))

    asyncio.run(discover())
    return found


def cases() -> list[Any]:
    params = []
    for port, name in METHODS:
        for fault in FAULTS:
            params.append(pytest.param(port, name, fault, id=f"{port}.{name}-{fault}"))
    return params


@pytest.mark.parametrize(("port", "method", "fault"), cases())
async def test_a_broken_backend_never_loses_the_call(
    port: str,
    method: str,
    fault: str,
    passages: dict[tuple[str, str], list[Passage]],
    library: FlowLibrary,
    template: SeededTemplate,
    scratch: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    through = passages.get((port, method), [])
    if not through:
        pytest.skip(f"no scenario of tests/scenarios calls {port}.{method}")
    if PER_METHOD:
        through = through[:PER_METHOD]
    caplog.set_level(logging.WARNING)
    problems: list[str] = []
    for passage in through:
        caplog.clear()
        name = passage.path.stem
        plan = FaultPlan(target=(port, method), fault=fault)
        # A slow backend must not stall the call past the action's own limit either.
        with open_bench(template.fresh(scratch), backend_timeout=BACKEND_TIMEOUT) as bench:
            try:
                await asyncio.wait_for(
                    run_scenario(
                        scenario(passage.path), bench, library, faulty(bench.backends(), plan)
                    ),
                    10,
                )
            except Exception as exc:
                problems.append(f"{name}: {type(exc).__name__}: {exc} escaped")
            if (port, method) not in plan.called:
                problems.append(f"{name}: never called {port}.{method} this time")
            calls = bench.calls()
            if not calls:
                problems.append(f"{name}: no call record")
            for call_id, outcome in calls:
                if outcome not in OUTCOMES:
                    problems.append(f"{name}: call {call_id[:8]} ended with outcome {outcome!r}")
                if outcome == "queued" and not bench.has_pop(call_id):
                    problems.append(f"{name}: call {call_id[:8]} queued without a stored pop")
            stored = answers_now(bench)
            if stored[: len(passage.answers_before)] != passage.answers_before:
                problems.append(
                    f"{name}: answers before the fault {passage.answers_before}, stored {stored}"
                )
        problems += [f"{name}: {e}" for e in errors_logged(caplog.records, ALLOWED_ERRORS)]
    assert not problems, "\n".join(problems)
