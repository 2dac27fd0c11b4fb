"""A small typed async AMI client over :class:`panoramisk.Manager`.

What it adds to panoramisk: connect and actions with timeouts, an event
history that :meth:`AmiClient.wait_for_event` searches and then waits on (no
polling, no event lost between sending an action and starting to wait), no
silent reconnect (a lost connection fails the waiters), and the recipe to
place a test call.

Test call recipe (verified against Debian's Asterisk 22 in the sandbox)::

    Action: Originate
    Channel: Local/123@pln123-ivr/n
    Application: AGI
    Data: agi://127.0.0.1:<callerbot port>/callerbot
    CallerID: "081234567890" <081234567890>
    Async: true
    ChannelId: <id>-caller
    OtherChannelId: <id>-ivr
    Variable: __PLN123_TEST_CALL=<id>

(or, instead of Application/Data, ``Context: pln123-test-caller``,
``Exten: s``, ``Priority: 1``, which runs the callerbot URL rendered into the
dialplan). The ``Local/`` channel has two legs: ``;1`` is the caller, running
the caller bot; ``;2`` is the IVR side, running ``123@pln123-ivr`` and so the
IVR's FastAGI ``main`` script. DTMF that the caller bot sends with
``EXEC SendDTMF 123456789012,100,100`` on ``;1`` reaches ``GET DATA`` /
``WAIT FOR DIGIT`` on ``;2`` in full. ``/n`` (no optimisation) is a
precaution: the caller leg runs an application, never a bridge, so the pair
could not be optimised away anyway. The CallerID set on the originate is
what the IVR leg sees as ``CALLERID(num)`` (``agi_callerid``).
``ChannelId`` / ``OtherChannelId`` fix the Uniqueid of the two legs, so events
and the AGI header (``agi_uniqueid``) can be matched to the call; ``__``
makes the variable reach the IVR leg too.

For connections that do reconnect (the screen-pop watcher), :class:`Backoff` spaces the
attempts (1 s doubling up to 30 s, a little jitter, reset on success) and
:class:`Reconnects` logs the state once per change: one warning when lost or
unreachable, one line when back, the attempts between at DEBUG.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from panoramisk import Manager
from panoramisk.message import Message

__all__ = [
    "TEST_CALLER_CONTEXT",
    "TEST_CALL_CHANNEL",
    "AmiClient",
    "AmiError",
    "AmiEvent",
    "Backoff",
    "Reconnects",
    "caller_leg_id",
    "ivr_leg_id",
]

log = logging.getLogger(__name__)

#: The channel a test call is originated on: the IVR side runs exten 123.
TEST_CALL_CHANNEL = "Local/123@pln123-ivr/n"
#: Dialplan context whose ``s`` extension runs the rendered callerbot URL.
TEST_CALLER_CONTEXT = "pln123-test-caller"
#: Inherited channel variable carrying the test call id to both legs.
TEST_CALL_VARIABLE = "PLN123_TEST_CALL"

_HISTORY_LIMIT = 20_000


class AmiError(Exception):
    """AMI refused an action, the login failed, or the connection was lost."""


def caller_leg_id(call_id: str) -> str:
    """Uniqueid of the caller leg (``;1``, runs the caller bot) of a test call."""
    return f"{call_id}-caller"


def ivr_leg_id(call_id: str) -> str:
    """Uniqueid of the IVR leg (``;2``, runs ``123@pln123-ivr``) of a test call."""
    return f"{call_id}-ivr"


@dataclass(frozen=True)
class AmiEvent:
    """One AMI event: its name, headers (keys lower-cased) and channel variables.

    A header sent more than once keeps its last value in ``headers`` and all of
    them in ``multi``. ``ChanVariable: NAME=value`` headers (see
    ``channelvars`` in manager.conf) are parsed into ``variables``.
    """

    name: str
    headers: Mapping[str, str]
    multi: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str = "") -> str:
        return self.headers.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return self.headers[key.lower()]

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> AmiEvent:
        headers: dict[str, str] = {}
        multi: dict[str, tuple[str, ...]] = {}
        variables: dict[str, str] = {}
        for key, value in message.items():
            values = tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)
            lower = str(key).lower()
            headers[lower] = values[-1]
            multi[lower] = values
            if lower.startswith("chanvariable"):
                for item in values:
                    name, _, var_value = item.partition("=")
                    variables[name] = var_value
        return cls(name=headers.get("event", ""), headers=headers, multi=multi, variables=variables)


# ------------------------------------------------------------------ reconnects
#: First wait after a failed attempt, in seconds; each failure doubles it up to the cap.
BACKOFF_FIRST = 1.0
BACKOFF_FACTOR = 2.0
#: Longest wait between attempts, in seconds.
BACKOFF_CAP = 30.0
#: Each wait is shortened by up to this share at random, so that several clients that
#: lost Asterisk together do not all come back in the same instant.
BACKOFF_JITTER = 0.1


@dataclass
class Backoff:
    """Waits between reconnect attempts: ``first`` seconds, times ``factor`` after each
    failure, never more than ``cap``; each one shortened by up to ``jitter`` of itself
    (so never over the cap). :meth:`reset` after a success starts again at ``first``."""

    first: float = BACKOFF_FIRST
    factor: float = BACKOFF_FACTOR
    cap: float = BACKOFF_CAP
    jitter: float = BACKOFF_JITTER
    random: Callable[[], float] = random.random
    _base: float = field(default=0.0, init=False)

    def next(self) -> float:
        """The wait before the next attempt (an attempt just failed)."""
        self._base = self.first if not self._base else min(self._base * self.factor, self.cap)
        return self._base * (1.0 - self.jitter * self.random())

    def reset(self) -> None:
        """Connected: the next failure waits ``first`` again."""
        self._base = 0.0


def _reason(exc: object) -> str:
    if exc is None:
        return "closed by Asterisk"
    if isinstance(exc, BaseException):
        text = str(exc)
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if isinstance(exc, Mapping) and exc.get("Event"):  # panoramisk hands a Shutdown event
        return f"Asterisk sent {exc.get('Event')}"
    return str(exc)


class Reconnects:
    """The state of a connection that reconnects by itself, logged once per change.

    One WARNING when it is lost (:meth:`lost`) or cannot be reached at all
    (:meth:`failed` first), with the reason; one INFO when it is back (:meth:`up`), with
    how long it was down and how many attempts it took; every attempt in between at
    DEBUG. Each :meth:`lost` or :meth:`failed` returns the wait before the next attempt
    (:class:`Backoff`); :meth:`up` resets it.
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        where: str = "",
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        #: What connects, ``screen-pop: AMI``, and where to (``127.0.0.1:5038``).
        self.what = what
        self.where = f" at {where}" if where else ""
        self.backoff = backoff or Backoff()
        self._clock = clock
        #: None: never connected yet; True: up; False: down.
        self.is_up: bool | None = None
        self.down_since = 0.0
        #: Attempts since the connection went down (or since the start).
        self.attempts = 0

    def attempt(self) -> None:
        """An attempt to connect starts."""
        self.attempts += 1

    def failed(self, exc: object) -> float:
        """An attempt failed (no connection, or one that dropped before it was up);
        returns the seconds to wait before the next."""
        delay = self.backoff.next()
        if self.is_up is False:
            self._log.debug(
                "%s%s: attempt %d failed (%s); next in %.1f s",
                self.what,
                self.where,
                self.attempts,
                _reason(exc),
                delay,
            )
            return delay
        self._went_down()
        self._log.warning(
            "%s%s: cannot connect (%s); retrying with backoff up to %.0f s",
            self.what,
            self.where,
            _reason(exc),
            self.backoff.cap,
        )
        return delay

    def lost(self, exc: object) -> float:
        """The connection was up and dropped; returns the seconds to wait before the
        first attempt to reconnect."""
        if self.is_up is not True:
            return self.failed(exc)
        self._went_down()
        self.attempts = 0
        delay = self.backoff.next()
        self._log.warning(
            "%s connection lost%s (%s); reconnecting with backoff up to %.0f s",
            self.what,
            self.where,
            _reason(exc),
            self.backoff.cap,
        )
        return delay

    def up(self, detail: str = "") -> bool:
        """Connected (logged in). Logs that it is back if it was down; True if it did."""
        was_down = self.is_up is False
        if was_down:
            self._log.info(
                "%s back%s%s after %.1f s down and %d attempt%s",
                self.what,
                self.where,
                detail,
                self._clock() - self.down_since,
                self.attempts,
                "" if self.attempts == 1 else "s",
            )
        self.is_up = True
        self.attempts = 0
        self.backoff.reset()
        return was_down

    def _went_down(self) -> None:
        self.is_up = False
        self.down_since = self._clock()


EventPredicate = Callable[[AmiEvent], bool]


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager without its automatic reconnect."""

    pinger: asyncio.TimerHandle | None

    def __init__(self, on_lost: Callable[[Exception | None], None], **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None
        self._on_lost(exc)


class AmiClient:
    """An AMI session. Make one with :meth:`connect`; use ``async with``."""

    def __init__(self, manager: _Manager | None = None) -> None:
        self._manager = manager
        self._history: list[AmiEvent] = []
        self._base = 0  # index of _history[0] among all events seen
        self._waiters: list[tuple[EventPredicate, asyncio.Future[AmiEvent]]] = []
        self._lost: Exception | None = None

    # ------------------------------------------------------------- connect
    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        timeout: float = 10.0,
    ) -> AmiClient:
        """Connect and log in; raise :class:`AmiError` on refusal or timeout."""
        loop = asyncio.get_running_loop()
        client = cls()
        manager = _Manager(
            client._connection_lost,
            loop=loop,
            host=host,
            port=port,
            username=username,
            secret=secret,
            events="on",
            ping_delay=3600,
            ping_interval=3600,
        )
        client._manager = manager
        manager.register_event("*", client._dispatch)
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(manager.config["protocol_factory"], host, port),
                timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise AmiError(f"cannot connect to AMI at {host}:{port}: {exc!r}") from exc
        done: asyncio.Future[tuple[Any, Any]] = loop.create_future()
        done.set_result((transport, protocol))
        manager.connection_made(done)  # sends Login
        login = manager.authenticated_future
        try:
            response = await asyncio.wait_for(asyncio.shield(login), timeout)
        except TimeoutError as exc:
            manager.close()
            raise AmiError(f"AMI login at {host}:{port} timed out") from exc
        if not response.success:
            manager.close()
            raise AmiError(f"AMI login as {username!r} refused: {response.get('message', '')}")
        return client

    async def close(self) -> None:
        """Log off and close; pending waiters fail with :class:`AmiError`."""
        manager = self._manager
        if manager is None:
            return
        self._manager = None
        with contextlib.suppress(Exception):
            if manager.protocol is not None and not manager.protocol.closed:
                manager.protocol.send({"Action": "Logoff"})
        manager.close()
        self._fail_waiters(AmiError("AMI client closed"))

    async def __aenter__(self) -> AmiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------- actions
    async def action(
        self,
        action: Mapping[str, str | Sequence[str]],
        *,
        timeout: float = 10.0,
        check: bool = True,
    ) -> Message:
        """Send one action and return its (first) response.

        With ``check`` a response other than Success/Follows raises AmiError.
        """
        manager = self._require_manager()
        payload = {k: (list(v) if not isinstance(v, str) else v) for k, v in action.items()}
        future = manager.send_action(payload, as_list=False)
        try:
            response: Message = await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise AmiError(f"no response to AMI {action.get('Action')} within {timeout} s") from exc
        if check and not response.success:
            raise AmiError(
                f"AMI {action.get('Action')} failed: {response.get('message', response)}"
            )
        return response

    async def command(self, cli: str, *, timeout: float = 10.0) -> str:
        """Run an Asterisk CLI command over AMI and return its output text."""
        response = await self.action({"Action": "Command", "Command": cli}, timeout=timeout)
        output = response.get("output", "")
        if isinstance(output, list):
            return "\n".join(output)
        return str(output or response.content or "")

    async def originate_test_call(
        self,
        caller_id: str,
        callerbot_url: str | None = None,
        variables: Mapping[str, str] | None = None,
        *,
        call_id: str | None = None,
        answer_timeout_ms: int = 30_000,
        timeout: float = 10.0,
    ) -> str:
        """Place a test call into ``123@pln123-ivr`` from ``caller_id``.

        The caller leg runs ``AGI(callerbot_url)``, or, if it is None, the
        ``pln123-test-caller`` context (the callerbot URL rendered into the
        dialplan). ``variables`` are set on the caller leg; prefix a name with
        ``__`` for the IVR leg to inherit it. Returns the call id: the legs'
        Uniqueids are :func:`caller_leg_id` and :func:`ivr_leg_id` of it, and
        both legs carry it in ``PLN123_TEST_CALL``. Returns once Asterisk has
        queued the originate; wait for events to follow the call.
        """
        call_id = call_id or f"pln123test-{uuid.uuid4().hex[:16]}"
        var_lines = [f"__{TEST_CALL_VARIABLE}={call_id}"]
        var_lines += [f"{name}={value}" for name, value in (variables or {}).items()]
        action: dict[str, str | Sequence[str]] = {
            "Action": "Originate",
            "Channel": TEST_CALL_CHANNEL,
            "CallerID": f'"{caller_id}" <{caller_id}>',
            "Async": "true",
            "Timeout": str(answer_timeout_ms),
            "ChannelId": caller_leg_id(call_id),
            "OtherChannelId": ivr_leg_id(call_id),
            "Variable": var_lines,
        }
        if callerbot_url is not None:
            action.update({"Application": "AGI", "Data": callerbot_url})
        else:
            action.update({"Context": TEST_CALLER_CONTEXT, "Exten": "s", "Priority": "1"})
        await self.action(action, timeout=timeout)
        return call_id

    async def hangup_call(self, call_id: str, *, timeout: float = 10.0) -> None:
        """Hang up both legs of a test call, if they are still up."""
        for uniqueid in (caller_leg_id(call_id), ivr_leg_id(call_id)):
            channel = self._channel_of(uniqueid)
            if channel:
                await self.action(
                    {"Action": "Hangup", "Channel": channel}, timeout=timeout, check=False
                )

    def _channel_of(self, uniqueid: str) -> str:
        """Current channel name of a Uniqueid, from the event history ('' if gone)."""
        name = ""
        for event in self._history:
            if event.get("uniqueid") != uniqueid:
                continue
            if event.name == "Hangup":
                name = ""
            elif event.get("channel"):
                name = event["channel"]
        return name

    # -------------------------------------------------------------- events
    @property
    def mark(self) -> int:
        """Position after the last event seen; pass as ``since`` to wait only for newer ones."""
        return self._base + len(self._history)

    def events(self, since: int = 0) -> list[AmiEvent]:
        """Events seen so far (from position ``since``), oldest first."""
        return self._history[max(since - self._base, 0) :]

    async def wait_for_event(
        self,
        predicate: EventPredicate,
        timeout: float,
        *,
        since: int = 0,
    ) -> AmiEvent:
        """The first event (from position ``since``, default: since connect) matching ``predicate``.

        Searches the events already received, then waits for new ones.
        Raises ``TimeoutError`` after ``timeout`` seconds and AmiError if the
        connection is lost meanwhile.
        """
        for event in self.events(since):
            if predicate(event):
                return event
        if self._lost is not None:
            raise AmiError(f"AMI connection lost: {self._lost!r}")
        future: asyncio.Future[AmiEvent] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            recent = ", ".join(e.name for e in self._history[-15:])
            raise TimeoutError(
                f"no matching AMI event within {timeout} s (last events: {recent})"
            ) from None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    def _dispatch(self, _manager: Manager, message: Message) -> None:
        event = AmiEvent.from_message(message)
        self._history.append(event)
        if len(self._history) > _HISTORY_LIMIT:
            drop = len(self._history) - _HISTORY_LIMIT // 2
            del self._history[:drop]
            self._base += drop
        for predicate, future in list(self._waiters):
            if future.done():
                continue
            try:
                matched = predicate(event)
            except Exception as exc:  # hand the predicate's bug to the waiter
                future.set_exception(exc)
                continue
            if matched:
                future.set_result(event)

    def _connection_lost(self, exc: Exception | None) -> None:
        if self._lost is not None:  # panoramisk may report one loss twice
            return
        self._lost = exc or AmiError("connection closed")
        if self._manager is not None:  # not closed by us
            log.warning("AMI connection lost: %r", exc)
        self._fail_waiters(AmiError(f"AMI connection lost: {exc!r}"))

    def _fail_waiters(self, error: Exception) -> None:
        for _predicate, future in self._waiters:
            if not future.done():
                future.set_exception(error)

    def _require_manager(self) -> _Manager:
        if self._manager is None:
            raise AmiError("AMI client is closed")
        if self._lost is not None:
            raise AmiError(f"AMI connection lost: {self._lost!r}")
        return self._manager
