"""One AMI connection that watches queue events for the screen-pop.

Built on panoramisk's :class:`~panoramisk.Manager`, which reconnects by itself when the
connection drops (Asterisk restarted): every ``reconnect_timeout`` seconds until
Asterisk answers, then it logs in again. On each login (``FullyBooted``) the agents
with ``queues`` in the config are added to their queues again, since an Asterisk
restart forgets members added over AMI.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk import Manager
from panoramisk.message import Message

from ivr.asterisk.ami import AmiEvent
from ivr.config import AgentSettings, AmiSettings
from ivr.screenpop.events import queue_event
from ivr.screenpop.hub import PopHub

log = logging.getLogger(__name__)

#: Seconds between attempts to reach Asterisk while it is away.
RECONNECT_SECONDS = 1
#: Seconds one AMI action (QueueAdd) may take.
ACTION_TIMEOUT = 5.0


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager that stops reconnecting once closed on purpose."""

    pinger: asyncio.TimerHandle | None

    def __init__(self, on_lost: Callable[[], None], **config: Any) -> None:
        super().__init__(**config)
        self.closing = False
        self._on_lost = on_lost

    def connection_lost(self, exc: Exception | None) -> None:
        self.authenticated = False
        self._on_lost()
        if self.closing:
            self._connected = False
            if self.pinger:
                self.pinger.cancel()
                self.pinger = None
            return
        super().connection_lost(exc)

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
            if not f.exception():
                f.result()[0].close()
            return
        super().connection_made(f)


class AmiWatcher:
    """Feeds queue events to the hub; keeps the configured agents in their queues."""

    def __init__(self, settings: AmiSettings, agents: Mapping[str, AgentSettings], hub: PopHub):
        self.settings = settings
        self.agents = agents
        self.hub = hub
        self.logins = 0
        #: Set while logged in; tests and the health check look at it.
        self.ready = asyncio.Event()
        self._manager = _Manager(
            self._lost,
            loop=asyncio.get_running_loop(),
            host=settings.host,
            port=settings.port,
            username=settings.user,
            secret=settings.secret.get_secret_value(),
            events="on",
            reconnect_timeout=RECONNECT_SECONDS,
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
        self._manager.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def connected(self) -> bool:
        """True while logged in to AMI."""
        return self.ready.is_set()

    def _lost(self) -> None:
        if self.ready.is_set() and not self._manager.closing:
            log.warning("screen-pop: AMI connection lost; reconnecting")
        self.ready.clear()

    def _logged_in(self, manager: Manager) -> None:
        self.logins += 1
        log.info("screen-pop: logged in to AMI (login %d)", self.logins)
        self.ready.set()
        self._spawn(self._join_queues(self.logins))

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

    def _on_event(self, manager: Manager, message: Message) -> None:
        """Every AMI event; queue events go to the hub. Never raises into panoramisk."""
        try:
            event = queue_event(AmiEvent.from_message(message))
            if event is not None:
                self.hub.handle(event)
        except Exception:
            log.exception("screen-pop: could not handle AMI event %s", message.get("Event"))
