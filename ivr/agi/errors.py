"""Typed AGI failures.

Every way a call can vanish under us (a ``HANGUP`` line, a ``511`` dead channel, a
``result=-1 (hangup)``, the socket closing) becomes one :class:`CallerHungUp`, so the
engine has one thing to catch to end a call cleanly.
"""

from __future__ import annotations

from ivr.engine import port


class AgiError(port.PortFailed):
    """Base class of everything the AGI layer raises (the engine's
    :class:`ivr.engine.port.PortFailed`)."""


class CallerHungUp(AgiError, port.CallerHungUp):
    """The call is gone: caller hangup, dead channel or lost connection (the engine's
    :class:`ivr.engine.port.CallerHungUp`, raised by the AGI layer)."""


class AgiTimeout(AgiError):
    """Asterisk did not answer a command within its time limit."""


class AgiCommandFailed(AgiError):
    """Asterisk ran the command and reported failure (``200 result=-1``)."""

    def __init__(self, command: str, line: str) -> None:
        super().__init__(f"{command!r} failed: {line}")
        self.command = command
        self.line = line


class AgiInvalidCommand(AgiError):
    """Asterisk did not know the command (``510``) or rejected its syntax (``520``)."""

    def __init__(self, command: str, line: str) -> None:
        super().__init__(f"{command!r} refused: {line}")
        self.command = command
        self.line = line


class AgiProtocolError(AgiError):
    """The peer sent something that is not AGI."""
