"""Every backend answer is checked against its port's declared return type.

The cases are built from the ports themselves (:func:`ivr.backends.typecheck.backend_ports`
and each Protocol's methods): a method added to a port is covered without a new test.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import types
import typing
from typing import Any, Literal

import pytest

from ivr.backends import ports
from ivr.backends.guarded import guarded
from ivr.backends.ports import BackendError, Backends, ItsmTicket, Report
from ivr.backends.typecheck import (
    backend_ports,
    compile_check,
    describe,
    port_checks,
    port_methods,
    type_name,
)

#: (field of Backends, port, method) for every method of every port.
METHODS = [
    (field, port, method)
    for field, port in backend_ports().items()
    for method in port_methods(port)
]

PHONE = "081234567890"

#: Right answers whose content the guard checks beyond their type.
RIGHT_OVERRIDES: dict[Any, object] = {
    Report: Report("G2501010000001", "LAPOR", "GANGGUAN", "padam", "532112345678", "0812", ""),
    ItsmTicket: ItsmTicket("733905", "Logged", "Lupa password", "", "0812", ""),
}


def right_value(annotation: Any) -> object:
    """A value of type ``annotation`` (a dataclass built field by field)."""
    if annotation in RIGHT_OVERRIDES:
        return RIGHT_OVERRIDES[annotation]
    if annotation is None or annotation is type(None):
        return None
    if annotation in (str, int, float, bool):
        return {str: "x", int: 1, float: 1.5, bool: True}[annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return right_value(next(a for a in args if a is not type(None)))
    if origin is Literal:
        return args[0]
    if origin is list:
        return [right_value(args[0])]
    if origin is tuple:
        return tuple(right_value(a) for a in args if a is not Ellipsis)
    if origin is dict:
        return {right_value(args[0]): right_value(args[1])}
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        hints = typing.get_type_hints(annotation)
        return annotation(
            **{
                f.name: right_value(hints[f.name])
                for f in dataclasses.fields(annotation)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            }
        )
    raise AssertionError(f"no sample value for {annotation!r}: add one to this test")


def wrong_values(annotation: Any) -> list[object]:
    """Values not of type ``annotation``: a stranger, and near misses (an ``int`` for a
    ``str``, a list of the wrong element)."""
    values: list[object] = [object()]
    if annotation is None or annotation is type(None):
        return [*values, "", 0, False]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        return [*values, (right_value(args[0]),), [object()], "text"]
    if annotation is str:
        return [*values, 42, b"x", None]
    if annotation is int:
        return [*values, "42", True, 4.2, None]
    if annotation is bool:
        return [*values, 1, "ya", None]
    if origin is typing.Union or origin is types.UnionType:
        return [*values, 42 if str not in args else b"x"]
    return [*values, "text", 42, None]


class FakePort:
    """A backend whose every method answers ``value``."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __getattr__(self, name: str) -> Any:
        async def answer(*args: object, **kwargs: object) -> object:
            return self.value

        return answer


def guarded_method(field: str, method: str, value: object) -> Any:
    fakes: dict[str, Any] = {name: FakePort(value) for name in backend_ports()}
    wrapped = guarded(Backends(**fakes), timeout=1.0)
    port = getattr(wrapped, field)
    assert not isinstance(port, FakePort), f"guarded() leaves Backends.{field} unguarded"
    return getattr(port, method)


def arguments(port: type, method: str) -> dict[str, object]:
    """Right arguments for every required parameter of ``port.method`` (a phone number
    for each text, to show it is never logged in full)."""
    function = getattr(port, method)
    hints = typing.get_type_hints(function)
    return {
        name: PHONE if hints[name] is str else right_value(hints[name])
        for name, parameter in inspect.signature(function).parameters.items()
        if name != "self" and parameter.default is inspect.Parameter.empty
    }


def test_the_ports_are_found() -> None:
    names = {f"{port.__name__}.{method}" for _, port, method in METHODS}
    assert {"ApktPort.close_issue", "CrmPort.caller", "CallbackPort.request"} <= names
    assert len(METHODS) >= 17


@pytest.mark.parametrize(
    ("field", "port", "method"),
    METHODS,
    ids=[f"{port.__name__}.{method}" for _, port, method in METHODS],
)
async def test_a_wrong_type_is_a_backend_fault(
    field: str, port: type, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    declared = typing.get_type_hints(getattr(port, method))["return"]
    args = arguments(port, method)
    for wrong in wrong_values(declared):
        call = guarded_method(field, method, wrong)
        caplog.clear()
        with caplog.at_level(logging.WARNING), pytest.raises(BackendError) as failed:
            await call(**args)
        text = str(failed.value)
        assert f"{port.__name__}.{method}" in text
        assert f"expected {describe(declared)}" in text
        assert f"returned {type_name(wrong)}" in text
        assert text in caplog.text  # logged like a raising backend
        # no personal data: the arguments' phone numbers and IDs never show in full
        assert PHONE not in caplog.text


@pytest.mark.parametrize(
    ("field", "port", "method"),
    METHODS,
    ids=[f"{port.__name__}.{method}" for _, port, method in METHODS],
)
async def test_a_right_type_passes_through_unchanged(field: str, port: type, method: str) -> None:
    declared = typing.get_type_hints(getattr(port, method))["return"]
    value = right_value(declared)
    answer = await guarded_method(field, method, value)(**arguments(port, method))
    if method == "request":  # CallbackPort.request: the guard answers None itself
        assert answer is None
    else:
        assert answer is value


def test_every_guarded_class_implements_its_port() -> None:
    wrapped = guarded(Backends(**{name: FakePort(None) for name in backend_ports()}), 1.0)
    for field, port in backend_ports().items():
        guard = getattr(wrapped, field)
        for method in port_methods(port):
            assert inspect.iscoroutinefunction(getattr(type(guard), method, None)), (
                f"{type(guard).__name__} lacks {method}"
            )


def test_each_port_check_is_built_once() -> None:
    assert port_checks(ports.ApktPort) is port_checks(ports.ApktPort)


@pytest.mark.parametrize(
    ("annotation", "good", "bad"),
    [
        (None, [None], [0, "", False]),
        (str, ["", "x"], [1, None, b"x"]),
        (int, [0, -3], [True, 1.0, "1"]),
        (bool, [True, False], [1, 0, None]),
        (float, [1.5, 2], [True, "1.5"]),
        (Report, [RIGHT_OVERRIDES[Report]], [{}, "G2501010000001"]),
        (list[str], [[], ["a", "b"]], [("a",), ["a", 1], "ab"]),
        (tuple[str, ...], [(), ("a",)], [["a"], ("a", 2)]),
        (tuple[str, int], [("a", 1)], [("a",), ("a", "b"), ("a", 1, 2)]),
        (dict[str, int], [{}, {"a": 1}], [{"a": "1"}, {1: 1}, [("a", 1)]]),
        (str | None, [None, "x"], [1]),
        (typing.Optional[int], [None, 1], ["1"]),  # noqa: UP045 (the old spelling too)
        (int | str, [1, "x"], [None, 1.5]),
        (Literal["sr", "jtr"], ["sr", "jtr"], ["jtm", 1, None]),
        (Literal[1], [1], [True, "1"]),
        (Any, [None, 1, object()], []),
    ],
)
def test_compiled_checks(annotation: Any, good: list[object], bad: list[object]) -> None:
    check = compile_check(annotation)
    for value in good:
        assert check(value), (annotation, value)
    for value in bad:
        assert not check(value), (annotation, value)


def test_an_unknown_form_is_refused_when_wrapping() -> None:
    with pytest.raises(TypeError, match="no type check"):
        compile_check(typing.Callable[[], int])


def test_messages_name_types_not_values() -> None:
    assert type_name(["0812345678901"]) == "list[str]"
    assert type_name({"idpel": 532112345678}) == "dict[str, int]"
    assert describe(Report | None) == "Report | None"
    assert describe(list[Report]) == "list[Report]"
    assert describe(tuple[str, ...]) == "tuple[str, ...]"
