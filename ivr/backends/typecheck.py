"""Checks that a backend's answer has the type its port declares.

A site's backend (a CRM, APKT) is someone else's code: one that answers with the wrong
type (an ``int`` issue id where the port says ``str``) would otherwise crash the flow
far from the cause, or the store when the call ends. :func:`port_checks` turns each
method's declared return annotation into a :class:`ReturnCheck` once (when a port is
wrapped, see :mod:`ivr.backends.guarded`); checking an answer is then an ``isinstance``
on its top-level type plus one per element of a container.

The forms the ports use are supported: ``None``, ``str``, ``int``, ``bool``, ``float``,
classes (dataclasses, pydantic models), ``list[X]``, ``tuple[X, ...]``/``tuple[X, Y]``,
``dict[K, V]``, ``X | None`` (and other unions), ``Literal[...]`` and ``Any``/``object``.
Any other form is refused when the port is wrapped (:class:`TypeError`), so a new port
method with an unchecked return type fails the tests rather than passing unchecked.

``bool`` is not accepted for ``int`` or ``float`` (it is a subclass of ``int`` in
Python, but a backend answering ``True`` for rupiah owed is wrong); ``int`` is accepted
for ``float``.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Union

#: A compiled check: True when the value has the type.
Check = Callable[[object], bool]


@dataclass(frozen=True)
class ReturnCheck:
    """The check of one port method's answer."""

    #: ``ApktPort.close_issue``: where the expectation comes from (no personal data).
    where: str
    #: The declared return type, as written (``str``, ``Report | None``).
    expected: str
    accepts: Check

    def mismatch(self, value: object) -> str:
        """Why ``value`` was refused: type names only, never the value itself."""
        return f"returned {type_name(value)}, expected {self.expected} ({self.where})"


def type_name(value: object) -> str:
    """The type of ``value`` for a message: ``int``, ``list[int]``, ``dict[str, int]``
    (element types from the first few elements; no values)."""
    if isinstance(value, list | tuple | set | frozenset):
        inner = sorted({type(item).__name__ for item in list(value)[:8]})
        return f"{type(value).__name__}[{' | '.join(inner)}]" if inner else type(value).__name__
    if isinstance(value, dict):
        pairs = list(value.items())[:8]
        if not pairs:
            return "dict"
        keys = " | ".join(sorted({type(key).__name__ for key, _ in pairs}))
        values = " | ".join(sorted({type(item).__name__ for _, item in pairs}))
        return f"dict[{keys}, {values}]"
    return type(value).__name__


def describe(annotation: object) -> str:
    """An annotation as a reader writes it: ``Report | None``, ``list[Report]``."""
    if annotation is None or annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return " | ".join(describe(arg) for arg in args)
    if origin is Literal:
        return f"Literal[{', '.join(repr(arg) for arg in args)}]"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        inner = ", ".join("..." if arg is Ellipsis else describe(arg) for arg in args)
        return f"{name}[{inner}]" if args else name
    return getattr(annotation, "__name__", str(annotation))


def compile_check(annotation: object) -> Check:
    """The check of a value against ``annotation``; :class:`TypeError` for a form this
    module does not know."""
    if annotation is Any or annotation is object:
        return _anything
    if annotation is None or annotation is type(None):
        return _is_none
    if annotation is bool:
        return _is_bool
    if annotation is int:
        return _is_int
    if annotation is float:
        return _is_float
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return _union(args)
    if origin is Literal:
        allowed = frozenset((type(arg), arg) for arg in args)
        return lambda value: (type(value), value) in allowed
    if origin is list:
        (item,) = args or (Any,)
        return _sequence(list, compile_check(item))
    if origin is tuple:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            return _sequence(tuple, compile_check(args[0] if args else Any))
        if args == ((),):  # tuple[()]
            return lambda value: value == ()
        return _fixed_tuple(tuple(compile_check(arg) for arg in args))
    if origin is dict:
        key, item = args or (Any, Any)
        return _mapping(compile_check(key), compile_check(item))
    if origin is None and isinstance(annotation, type):
        if annotation in (list, tuple, dict, set, frozenset):
            kind = annotation
            return lambda value: isinstance(value, kind)
        cls = annotation
        return lambda value: isinstance(value, cls)
    raise TypeError(f"no type check for the annotation {annotation!r}")


def _anything(value: object) -> bool:
    return True


def _is_none(value: object) -> bool:
    return value is None


def _is_bool(value: object) -> bool:
    return value is True or value is False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(value: object) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool)


def _union(args: tuple[Any, ...]) -> Check:
    checks = tuple(compile_check(arg) for arg in args)
    if len(checks) == 2 and _is_none in checks:
        # X | None, the commonest form: no loop
        other = checks[0] if checks[1] is _is_none else checks[1]
        return lambda value: value is None or other(value)
    return lambda value: any(check(value) for check in checks)


def _sequence(kind: type, item: Check) -> Check:
    if item is _anything:
        return lambda value: isinstance(value, kind)

    def check(value: object) -> bool:
        return isinstance(value, kind) and all(map(item, typing.cast("Iterable[object]", value)))

    return check


def _fixed_tuple(items: tuple[Check, ...]) -> Check:
    size = len(items)

    def check(value: object) -> bool:
        return (
            isinstance(value, tuple)
            and len(value) == size
            and all(item(part) for item, part in zip(items, value, strict=True))
        )

    return check


def _mapping(key: Check, item: Check) -> Check:
    def check(value: object) -> bool:
        return isinstance(value, dict) and all(
            key(name) and item(part) for name, part in value.items()
        )

    return check


def port_methods(port: type) -> list[str]:
    """The public methods a port (a Protocol) declares, in declaration order."""
    return [
        name
        for name, member in vars(port).items()
        if not name.startswith("_") and inspect.isfunction(member)
    ]


@functools.cache
def port_checks(port: type) -> dict[str, ReturnCheck]:
    """The check of each method's answer, by method name; resolved once per port
    (``typing.get_type_hints`` of each method's return annotation)."""
    checks: dict[str, ReturnCheck] = {}
    for name in port_methods(port):
        hints = typing.get_type_hints(getattr(port, name))
        if "return" not in hints:
            raise TypeError(f"{port.__name__}.{name} declares no return type")
        annotation = hints["return"]
        checks[name] = ReturnCheck(
            where=f"{port.__name__}.{name}",
            expected=describe(annotation),
            accepts=compile_check(annotation),
        )
    return checks


def backend_ports() -> dict[str, type]:
    """Each port of :class:`~ivr.backends.ports.Backends`, by field name (``apkt``:
    ``ApktPort``), unwrapping ``X | None``."""
    from ivr.backends.ports import Backends

    ports: dict[str, type] = {}
    for field_name, annotation in typing.get_type_hints(Backends).items():
        candidates = typing.get_args(annotation) or (annotation,)
        (port,) = [c for c in candidates if c is not type(None)]
        ports[field_name] = port
    return ports
