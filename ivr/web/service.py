"""The web side of the IVR process: pop store, hub, AMI watcher, the CSOs' screen-pop
page and the ops page."""

from __future__ import annotations

import logging
from typing import Any

from ivr.config import Settings
from ivr.engine.library import LibraryHolder
from ivr.screenpop.callback_poll import CallbackPoll
from ivr.screenpop.hub import PopHub
from ivr.screenpop.watcher import AmiWatcher
from ivr.store.health import StoreHealth
from ivr.store.pops import PopStore
from ivr.web.server import OpsSite, WebServer, make_app

log = logging.getLogger(__name__)


class HubCallbacks:
    """Call-back requests from flows, stored and shown on the agents' pages at once."""

    def __init__(self, hub: PopHub) -> None:
        self._hub = hub

    async def request(self, call_id: str, pop_id: str, number: str, queue: str) -> None:
        self._hub.add_callback(call_id, pop_id, number, queue)


class ScreenPopService:
    """Starts and stops everything the CSOs' and the ops pages need.

    ``library`` is the flows in use, which the ops page draws (None: no graphs).
    ``poll_callbacks``: the flows run in other processes, whose call-back requests
    reach the pages through the store (:mod:`ivr.screenpop.callback_poll`).
    """

    def __init__(
        self,
        settings: Settings,
        library: LibraryHolder | None = None,
        *,
        poll_callbacks: bool = False,
    ) -> None:
        self.settings = settings
        self.store = PopStore(settings.store_location)
        self.hub = PopHub(
            self.store,
            settings.agents,
            settings.default_timezone,
            settings.web.recent_pops,
            settings.web.recent_hours,
        )
        self.callbacks = HubCallbacks(self.hub)
        self.callback_poll = CallbackPoll(self.hub) if poll_callbacks else None
        #: The IVR's call store's state, for ``/healthz`` (None: no call store here).
        self.store_health: StoreHealth | None = None
        self.watcher: AmiWatcher | None = None
        self.ops = OpsSite(
            users=settings.ops,
            library=library,
            db_path=settings.store_location,
            timezone=settings.default_timezone,
            default_flow=settings.default_flow,
        )
        self.web = WebServer(
            make_app(self.hub, settings.agents, self.health, self.ops, settings.web),
            settings.web.host,
            settings.web.port,
        )

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` says: ``status`` is ``ok``, or ``degraded`` with the store's
        reason (calls then go straight to a CSO)."""
        store = self.store_health.as_json() if self.store_health is not None else {"ok": True}
        return {
            "status": "ok" if store["ok"] else "degraded",
            "ami": self.watcher is not None and self.watcher.connected,
            "store": store,
        }

    async def start(self) -> None:
        """Serve the page and start watching AMI."""
        await self.web.start()
        self.watcher = AmiWatcher(self.settings.ami, self.settings.agents, self.hub)
        self.watcher.start()
        if self.callback_poll is not None:
            self.callback_poll.start()
        base = f"{self.web.scheme}://{self.web.host}:{self.web.port}"
        print(f"pln123 screen-pop page on {base}/agent", flush=True)
        if self.settings.ops:
            print(f"pln123 ops page on {base}/ops", flush=True)

    async def stop(self) -> None:
        """Stop watching, close the pages, close the store."""
        if self.watcher is not None:
            await self.watcher.close()
        if self.callback_poll is not None:
            await self.callback_poll.close()
        await self.hub.close()
        await self.web.stop()
        self.store.close()
