"""The FastAGI listener: one chokepoint per connection.

Each connection is an :class:`~ivr.agi.connection.AgiConnection`, which checks the peer
against the allowlist and reads the header block within a time limit; then
:meth:`FastAgiServer._run_call` runs the call handler and always closes the
connection. A call that ends badly is logged and forgotten; the server keeps serving.
``CancelledError`` is never swallowed.

At most ``max_connections`` connections are open at once (``[agi] max_connections``).
One more is closed as soon as it is accepted, before its header block is read: Asterisk
then goes on in the dialplan (its fallback to a CSO queue). A burst of refusals is
logged as one warning when it starts and one summary when it is over
(:data:`REFUSAL_WINDOW` seconds without a refusal), never a line per connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from ivr.agi.channel import AgiChannel
from ivr.agi.connection import AgiConnection
from ivr.agi.deadlines import Watchdog
from ivr.agi.errors import AgiError, CallerHungUp
from ivr.agi.request import AgiRequest

log = logging.getLogger(__name__)

CallHandler = Callable[[AgiChannel], Awaitable[None]]

#: Default of ``[agi] max_connections``: above ``pln123 bench agi --hold 1000``.
MAX_CONNECTIONS = 2000
#: A burst of refusals is over once this many seconds pass without one.
REFUSAL_WINDOW = 10.0


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed at once, nothing read."""

    def __init__(self, server: FastAgiServer) -> None:
        self._server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()
        self._server.refused_one()


def parse_allowlist(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Addresses or networks (``127.0.0.1``, ``10.0.0.0/24``) allowed to connect."""
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


class FastAgiServer:
    """Accepts FastAGI connections from Asterisk and runs a handler per call."""

    def __init__(
        self,
        handler: CallHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        allow: Iterable[str] = ("127.0.0.1", "::1"),
        header_timeout: float = 5.0,
        command_timeout: float = 10.0,
        max_connections: int = MAX_CONNECTIONS,
        refusal_window: float = REFUSAL_WINDOW,
        reuse_port: bool = False,
    ) -> None:
        self._handler = handler
        #: Share the port with the other workers of ``pln123 serve --workers``
        #: (SO_REUSEPORT: the kernel spreads new connections over them).
        self._reuse_port = reuse_port
        self._host = host
        self._port = port
        self._allow = parse_allowlist(allow)
        self._verdicts: dict[str, bool] = {}
        #: Seconds a peer has to send its whole header block.
        self.header_timeout = header_timeout
        self._command_timeout = command_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[AgiConnection] = set()
        self._calls: set[asyncio.Task[None]] = set()
        self._watchdog = Watchdog()
        #: Most connections open at once; more are closed at once.
        self.max_connections = max_connections
        self._refusal_window = refusal_window
        #: Connections refused over the cap since the start.
        self.refused = 0
        self._burst = 0  # refused in the burst under way (0: none)
        self._burst_started = 0.0
        self._burst_seen = 0  # self._burst when the window last closed
        self._burst_timer: asyncio.TimerHandle | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active_calls(self) -> int:
        """Connections being served right now."""
        return len(self._calls)

    async def start(self) -> None:
        """Bind and start accepting connections."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._connection,
            self._host,
            self._port,
            backlog=1024,
            reuse_port=self._reuse_port or None,
        )
        log.info("FastAGI listening on %s:%d", self._host, self.port)

    async def serve_forever(self) -> None:
        """Accept connections until cancelled or shut down."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        except asyncio.CancelledError:
            if self._server.is_serving():
                raise

    async def shutdown(self, grace: float) -> None:
        """Stop accepting; let calls in progress run up to ``grace`` seconds, then cut."""
        if self._server is not None:
            self._server.close()
        pending = set(self._calls)
        if pending:
            log.info("shutdown: waiting up to %.0fs for %d call(s)", grace, len(pending))
            _done, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            if still:
                log.warning("shutdown: cut %d call(s) after the grace period", len(still))
                await asyncio.wait(still)
        for connection in list(self._connections):
            connection.close()  # peers still in their header block
        if self._server is not None:
            await self._server.wait_closed()
        self._end_burst()
        await self._watchdog.stop()

    def _connection(self) -> asyncio.Protocol:
        if len(self._connections) >= self.max_connections:
            return _Refused(self)
        connection = AgiConnection(self)
        self._connections.add(connection)
        return connection

    def refused_one(self) -> None:
        """A connection over the cap was closed: the first of a burst is logged."""
        self.refused += 1
        self._burst += 1
        if self._burst > 1:
            return
        self._burst_started = time.monotonic()
        self._burst_seen = 0
        log.warning(
            "FastAGI: at the cap of %d connections ([agi] max_connections): refusing new"
            " ones (Asterisk runs its dialplan fallback) until the load drops",
            self.max_connections,
        )
        self._burst_timer = asyncio.get_running_loop().call_later(
            self._refusal_window, self._burst_check
        )

    def _burst_check(self) -> None:
        """Every window: a burst with no refusal in the last one is over."""
        if self._burst != self._burst_seen:
            self._burst_seen = self._burst
            self._burst_timer = asyncio.get_running_loop().call_later(
                self._refusal_window, self._burst_check
            )
            return
        self._end_burst()

    def _end_burst(self) -> None:
        if self._burst_timer is not None:
            self._burst_timer.cancel()
            self._burst_timer = None
        if not self._burst:
            return
        log.warning(
            "FastAGI: %d connections refused over the cap of %d in the last %.0f s",
            self._burst,
            self.max_connections,
            time.monotonic() - self._burst_started,
        )
        self._burst = 0

    def allowed(self, peer: str) -> bool:
        """Whether ``peer`` may connect (remembered per address: Asterisk reconnects a lot)."""
        known = self._verdicts.get(peer)
        if known is None:
            known = self._verdicts[peer] = self._check_peer(peer)
        return known

    def _check_peer(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self._allow)

    def start_call(self, connection: AgiConnection, headers: dict[str, str]) -> None:
        """A header block has arrived: run the call in a task of its own."""
        task = asyncio.get_running_loop().create_task(self._run_call(connection, headers))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    def forget(self, connection: AgiConnection) -> None:
        """A connection has closed."""
        self._connections.discard(connection)

    async def _run_call(self, connection: AgiConnection, headers: dict[str, str]) -> None:
        channel = AgiChannel(AgiRequest(headers, connection), self._command_timeout, self._watchdog)
        try:
            await self._handler(channel)
        except CallerHungUp as exc:
            log.info("call %s ended: %s", headers.get("agi_uniqueid", "?"), exc)
        except AgiError as exc:
            log.warning("call %s ended on an AGI error: %s", headers.get("agi_uniqueid", "?"), exc)
        except Exception:
            log.exception("call %s: handler failed", headers.get("agi_uniqueid", "?"))
        finally:
            channel.release()
            connection.close()
