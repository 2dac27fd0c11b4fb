"""Routes each queue event to the page of the agent it concerns, and only theirs.

An agent may have the page open in several tabs: each is a :class:`Subscriber` with
a queue of its own, so a slow tab never holds up the others or the AMI reader, and
messages reach each tab in the order the events came.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ivr.config import AgentSettings
from ivr.domain.callerid import mask
from ivr.engine.pop import OutageNotice, ScreenPop
from ivr.screenpop.events import BYPASS_PREFIX, QueueEvent
from ivr.screenpop.recovered import recovered_pop
from ivr.screenpop.view import callback_view, pop_view
from ivr.store import pops
from ivr.store.calls import connect_read_only
from ivr.store.control import get_outage
from ivr.store.dbapi import Connection, DatabaseError, Location
from ivr.store.pops import Callback, Delivery, PopStore

log = logging.getLogger(__name__)


def _read_only(location: Location) -> Connection:
    """A connection that can only read the store."""
    return connect_read_only(location, 2000)


Message = dict[str, Any]
#: Messages a tab may fall behind by before it is dropped (it reconnects and gets a
#: fresh ``hello``).
BACKLOG = 200


class Subscriber:
    """One open page: messages queued for it, sent in order by its own task."""

    def __init__(self, agent: str, send: Callable[[Message], Awaitable[None]]) -> None:
        self.agent = agent
        self._send = send
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(BACKLOG)
        self._task = asyncio.get_running_loop().create_task(self._run())
        self.dropped = False

    def push(self, message: Message) -> None:
        """Queue a message; a tab that fell too far behind is dropped."""
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped = True
            log.warning("agent %s: page fell behind, dropping it", self.agent)
            self._task.cancel()

    async def _run(self) -> None:
        while (message := await self._queue.get()) is not None:
            try:
                await self._send(message)
            except (ConnectionError, RuntimeError) as exc:
                log.info("agent %s: page gone: %s", self.agent, exc)
                return

    async def close(self) -> None:
        """Stop sending (what is queued is dropped)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class PopHub:
    """Agents' open pages and the pops and call-back tasks they are shown."""

    def __init__(
        self,
        store: PopStore,
        agents: Mapping[str, AgentSettings],
        zone: str,
        recent_pops: int = 20,
        recent_hours: float = 12.0,
    ) -> None:
        self.store = store
        self.agents = agents
        self.zone = zone
        self.recent_pops = recent_pops
        self.recent_hours = recent_hours
        self._pages: dict[str, set[Subscriber]] = {}
        self._by_interface = {
            a.interface.lower(): agent_id for agent_id, a in agents.items() if a.interface
        }
        #: For tests and the benchmark: called after each event is handled.
        self.on_handled: Callable[[QueueEvent], None] | None = None
        #: Pops the call store could not write yet, by pop id (the IVR's own
        #: :attr:`ivr.store.calls.CallStore.kept_pops`, when in the same process).
        self.kept_pops: Mapping[str, dict[str, Any]] = {}
        #: True while the pop store fails (logged once per failure, not per event).
        self._store_failing = False

    # -- pages ------------------------------------------------------------------------

    def attach(self, agent: str, send: Callable[[Message], Awaitable[None]]) -> Subscriber:
        """A page opened: it gets ``hello`` (current and recent pops, call-backs)."""
        page = Subscriber(agent, send)
        self._pages.setdefault(agent, set()).add(page)
        page.push(self.hello(agent))
        return page

    async def detach(self, page: Subscriber) -> None:
        """A page closed."""
        pages = self._pages.get(page.agent, set())
        pages.discard(page)
        await page.close()

    def hello(self, agent: str) -> Message:
        """Everything a freshly opened page shows."""
        settings = self.agents[agent]
        since = time.time() - self.recent_hours * 3600
        try:
            deliveries = self.store.recent(agent, since, self.recent_pops)
            callbacks = self._callbacks()
        except DatabaseError as exc:  # the page opens; pops come as the phone rings
            self._failing(exc)
            deliveries, callbacks = [], []
        return {
            "type": "hello",
            "agent": {"id": agent, "name": settings.name},
            "pops": [self._view(d) for d in deliveries],
            "callbacks": callbacks,
        }

    def _send(self, agent: str, message: Message) -> None:
        for page in list(self._pages.get(agent, ())):
            if page.dropped:
                self._pages[agent].discard(page)
            else:
                page.push(message)

    # -- queue events -----------------------------------------------------------------

    def agent_of(self, event: QueueEvent) -> str | None:
        """Whose phone the event is about: the member name, else the interface."""
        if event.member in self.agents:
            return event.member
        return self._by_interface.get(event.interface.lower())

    def handle(self, event: QueueEvent) -> None:
        """Record the event and tell the pages it concerns. A failing store does not
        stop the pop: a ring is shown from memory, other changes wait for the store."""
        agent = self.agent_of(event) if event.member or event.interface else None
        try:
            changed = self._record(event, agent)
        except DatabaseError as exc:
            self._failing(exc)
            changed = []
            if event.kind == "ring" and agent is not None:
                changed = [
                    Delivery(event.pop_id, agent, event.queue, pops.RINGING, event.caller, event.at)
                ]
        else:
            self._works()
        for delivery in changed:
            at = event.at if event.kind == "ring" else None
            self._send(delivery.agent, {"type": "pop", "pop": self._view(delivery, at)})
        if self.on_handled is not None:
            self.on_handled(event)

    def _failing(self, exc: Exception) -> None:
        if not self._store_failing:
            log.error("screen-pop: the store fails (%s); showing pops from memory", exc)
            self._store_failing = True

    def _works(self) -> None:
        if self._store_failing:
            log.warning("screen-pop: the store works again")
            self._store_failing = False

    def _record(self, event: QueueEvent, agent: str | None) -> list[Delivery]:
        """Store what the event changed; the deliveries that changed."""
        changed: list[Delivery] = []
        if event.kind == "ring" and agent is not None:
            changed = [self.store.ring(event.pop_id, agent, event.queue, event.caller, event.at)]
        elif event.kind == "connect" and agent is not None:
            changed = self.store.set_state(event.pop_id, pops.CONNECTED, agent=agent)
            for other in self.store.set_state(event.pop_id, pops.TAKEN, only_from=pops.RINGING):
                changed.append(other)
        elif event.kind == "no_answer" and agent is not None:
            changed = self.store.set_state(
                event.pop_id, pops.MISSED, agent=agent, only_from=pops.RINGING
            )
        elif event.kind == "complete" and agent is not None:
            changed = self.store.set_state(event.pop_id, pops.DONE, agent=agent)
        elif event.kind == "abandon":
            changed = self.store.set_state(event.pop_id, pops.ABANDONED, only_from=pops.RINGING)
        elif agent is None:
            log.info(
                "queue event %s for member %r (%s), who is no configured agent",
                event.kind,
                event.member,
                event.interface,
            )
        return changed

    def pop_data(self, pop_id: str) -> dict[str, Any] | None:
        """The pop's data: from the store, else from the IVR's memory (a pop the store
        could not take yet)."""
        try:
            data = self.store.pop_data(pop_id)
        except DatabaseError as exc:
            self._failing(exc)
            data = None
        if data is None:
            data = self.kept_pops.get(pop_id)
        if data is None and not pop_id.startswith(BYPASS_PREFIX):
            try:  # the IVR stopped mid-call: what its record holds
                data = recovered_pop(self.store.connection, pop_id)
            except DatabaseError as exc:
                self._failing(exc)
        return data

    def _view(self, delivery: Delivery, event_at: float | None = None) -> dict[str, Any]:
        data = self.pop_data(delivery.pop_id)
        declared = self._outage_declared_at(data)
        view = pop_view(data, delivery, self.zone, event_at, declared)
        view["sent_at"] = round(time.time() * 1000)
        return view

    def _outage_declared_at(self, data: Mapping[str, Any] | None) -> float | None:
        """When the outage the pop's caller heard was declared (its record's start: ops
        declare one to start at once), or None: no outage, or no record of it."""
        outage = OutageNotice.from_stored(data.get("outage")) if data else None
        if outage is None or not outage.id.isdigit():
            return None
        # Only pops of callers who heard an outage get here: a short-lived connection
        # each, rather than one more held open beside the store's.
        try:
            with contextlib.closing(_read_only(self.store.location)) as conn:
                record = get_outage(conn, int(outage.id))
        except DatabaseError as exc:
            log.warning("outage %s of a pop: cannot read it: %s", outage.id, exc)
            return None
        return None if record is None else record.starts_at

    # -- call-back tasks --------------------------------------------------------------

    def _callbacks(self) -> list[dict[str, Any]]:
        """Every open task: any CSO may call a caller back (the queue is shown)."""
        return [self._callback_view(t) for t in self.store.open_callbacks()]

    def _callback_view(self, task: Callback) -> dict[str, Any]:
        data = self.pop_data(task.pop_id) if task.pop_id else None
        name = ScreenPop.from_stored(data).caller.name if data else ""
        return callback_view(task, name, self.zone)

    def callbacks_changed(self) -> None:
        """Send every page its current call-back list."""
        message = {"type": "callbacks", "callbacks": self._callbacks()}
        for agent in list(self._pages):
            self._send(agent, message)

    def add_callback(self, call_id: str, pop_id: str, number: str, queue: str) -> Callback:
        """Store a call-back request and show it on every open page."""
        task = self.store.add_callback(call_id, pop_id, number, queue)
        log.info("call %s: call-back requested to %s (%s)", call_id, mask(number), queue)
        self.callbacks_changed()
        return task

    def close_callback(self, callback_id: int, agent: str) -> None:
        """An agent marked a call-back task done."""
        if self.store.close_callback(callback_id, agent):
            self.callbacks_changed()

    async def close(self) -> None:
        """Close every page's sender."""
        for pages in self._pages.values():
            for page in list(pages):
                await page.close()
        self._pages.clear()
