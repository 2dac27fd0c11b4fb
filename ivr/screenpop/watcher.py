"""One AMI connection that watches queue events for the screen-pop.

Built on panoramisk's :class:`~panoramisk.Manager`, reconnecting by itself when the
connection drops (Asterisk restarted) or cannot be made: first after 1 s, then
doubling up to 30 s (:class:`~ivr.asterisk.ami.Backoff`), until Asterisk answers, then
it logs in again. The log says so once per change (:class:`~ivr.asterisk.ami.Reconnects`):
one warning when AMI is lost or unreachable, one line when it is back, the attempts in
between at DEBUG. On each login (``FullyBooted``) the agents
with ``queues`` in the config are added to their queues again, since an Asterisk
restart forgets members added over AMI.

The same events feed the queue statistics (:class:`~ivr.store.queue_calls.QueueLog`):
each caller's join, answer or abandon in ``queue_calls`` and the ``queue_waiting``
gauge, which each login sets afresh from Asterisk's ``QueueStatus``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from panoramisk import Manager
from panoramisk.message import Message

from ivr.asterisk.ami import AmiEvent, Reconnects
from ivr.config import AgentSettings, AmiSettings
from ivr.screenpop.events import queue_event
from ivr.screenpop.hub import PopHub
from ivr.store.queue_calls import QueueLog

log = logging.getLogger(__name__)

#: Seconds one AMI action (QueueAdd) may take.
ACTION_TIMEOUT = 5.0
#: Seconds Asterisk may take to list the callers waiting (QueueStatus).
STATUS_TIMEOUT = 10.0


class CallLater(Protocol):
    """``loop.call_later``: run ``callback`` after ``delay`` seconds (tests pass their own)."""

    def __call__(self, delay: float, callback: Callable[[], None], /) -> Any: ...


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager that reconnects with a backoff (:class:`Reconnects`) and
    stops reconnecting once closed on purpose."""

    pinger: asyncio.TimerHandle | None

    def __init__(
        self,
        on_lost: Callable[[], None],
        reconnects: Reconnects,
        call_later: CallLater | None = None,
        **config: Any,
    ) -> None:
        super().__init__(**config)
        self.closing = False
        self._on_lost = on_lost
        self.reconnects = reconnects
        self._call_later: CallLater = call_later or self.loop.call_later
        self._retry: Any = None

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        self._retry = None
        self.reconnects.attempt()
        return super().connect(*args, **kwargs)

    def _reconnect_in(self, delay: float) -> None:
        if not self.closing:
            self._retry = self._call_later(delay, self._reconnect)

    def _reconnect(self) -> None:
        self._retry = None
        if not self.closing:
            self.connect()

    def cancel_retry(self) -> None:
        """No more attempts (closing)."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.authenticated = False
        self._connected = False
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None
        self._on_lost()
        if self.closing:
            return
        self._reconnect_in(self.reconnects.lost(exc))

    def login(self, future: asyncio.Future[Any]) -> bool:
        authenticated = bool(super().login(future))
        if not authenticated:
            log.error(
                "screen-pop: AMI refused the login as %r; check [ami] user and secret",
                self.config.get("username"),
            )
        return authenticated

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if self.closing:
            if not f.cancelled() and not f.exception():
                f.result()[0].close()
            return
        if f.cancelled():
            return
        exc = f.exception()
        if exc is not None:  # Asterisk not there (yet): try again after the backoff
            self._connected = False
            self._reconnect_in(self.reconnects.failed(exc))
            return
        super().connection_made(f)


class AmiWatcher:
    """Feeds queue events to the hub and the queue log; keeps the configured agents in
    their queues.

    Without a ``queue_log`` the watcher opens one on the hub's store file and closes it
    in :meth:`close`; one passed in stays the caller's to close.
    """

    def __init__(
        self,
        settings: AmiSettings,
        agents: Mapping[str, AgentSettings],
        hub: PopHub,
        queue_log: QueueLog | None = None,
        *,
        reconnects: Reconnects | None = None,
        call_later: CallLater | None = None,
    ):
        self.settings = settings
        self.agents = agents
        self.hub = hub
        self._owns_queue_log = queue_log is None
        self.queue_log = queue_log if queue_log is not None else QueueLog(hub.store.location)
        self.logins = 0
        #: Set while logged in; tests and the health check look at it.
        self.ready = asyncio.Event()
        #: The connection's state and backoff (logs once per change).
        self.reconnects = reconnects or Reconnects(
            log, "screen-pop: AMI", f"{settings.host}:{settings.port}"
        )
        self._manager = _Manager(
            self._lost,
            self.reconnects,
            call_later,
            loop=asyncio.get_running_loop(),
            host=settings.host,
            port=settings.port,
            username=settings.user,
            secret=settings.secret.get_secret_value(),
            events="on",
            ping_delay=10,
            ping_interval=10,
            on_login=self._logged_in,
        )
        self._manager.register_event("*", self._on_event)
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Connect now and keep connecting (returns at once)."""
        log.info("screen-pop: watching AMI at %s:%s", self.settings.host, self.settings.port)
        self._manager.connect()

    async def close(self) -> None:
        """Disconnect for good."""
        self._manager.closing = True
        self._manager.cancel_retry()
        self._manager.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._owns_queue_log:
            self.queue_log.close()

    @property
    def connected(self) -> bool:
        """True while logged in to AMI."""
        return self.ready.is_set()

    def _lost(self) -> None:
        self.ready.clear()

    def _logged_in(self, manager: Manager) -> None:
        self.logins += 1
        if not self.reconnects.up(f", logged in (login {self.logins})"):
            log.info("screen-pop: logged in to AMI (login %d)", self.logins)
        self.ready.set()
        self._spawn(self._join_queues(self.logins))
        self._spawn(self._resync_waiting(self.logins))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _join_queues(self, login: int) -> None:
        """Add each configured agent to their queues (a member already there is fine)."""
        for agent_id, agent in self.agents.items():
            if not agent.interface:
                continue
            for queue in agent.queues:
                action = {
                    "Action": "QueueAdd",
                    "Queue": queue,
                    "Interface": agent.interface,
                    "MemberName": agent_id,
                    "Penalty": str(agent.penalty),
                }
                try:
                    # as_list=False: panoramisk takes the reply "Added interface to
                    # queue" for the start of a list and would wait for more.
                    reply = await asyncio.wait_for(
                        self._manager.send_action(action, as_list=False), ACTION_TIMEOUT
                    )
                except (TimeoutError, ConnectionError) as exc:
                    log.warning("screen-pop: QueueAdd %s to %s failed: %r", agent_id, queue, exc)
                    continue
                message = str(reply.get("Message", ""))
                if not reply.success and "already" not in message.lower():
                    log.warning("screen-pop: QueueAdd %s to %s: %s", agent_id, queue, message)
        log.info("screen-pop: agents are in their queues (login %d)", login)

    async def _resync_waiting(self, login: int) -> None:
        """Count the callers waiting afresh from Asterisk's own list: while the
        connection was down callers may have left unseen (all of them, if Asterisk
        restarted)."""
        self.queue_log.begin_resync()
        try:
            replies = await asyncio.wait_for(
                self._manager.send_action({"Action": "QueueStatus"}, as_list=True),
                STATUS_TIMEOUT,
            )
            entries = [
                (str(reply.get("Queue", "")), str(reply.get("Uniqueid", "")))
                for reply in replies
                if reply.get("Event") == "QueueEntry"
            ]
            self.queue_log.resync(entries)
        except asyncio.CancelledError:
            self.queue_log.cancel_resync()
            raise
        except Exception as exc:  # a failed resync leaves the count to the events
            self.queue_log.cancel_resync()
            log.warning("queue stats: QueueStatus after login %d failed: %r", login, exc)
            return
        log.info("queue stats: %d callers waiting (login %d)", len(entries), login)

    def _on_event(self, manager: Manager, message: Message) -> None:
        """Every AMI event; queue events go to the hub and the queue log. Never raises
        into panoramisk (a failure of one does not keep the event from the other)."""
        try:
            ami_event = AmiEvent.from_message(message)
        except Exception:
            log.exception("screen-pop: could not read AMI event %s", message.get("Event"))
            return
        try:
            event = queue_event(ami_event)
            if event is not None:
                self.hub.handle(event)
        except Exception:
            log.exception("screen-pop: could not handle AMI event %s", ami_event.name)
        try:
            self.queue_log.handle(ami_event)
        except Exception:
            log.exception("queue stats: could not record AMI event %s", ami_event.name)
