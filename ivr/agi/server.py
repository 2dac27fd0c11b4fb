"""The FastAGI listener: one chokepoint per connection.

Every connection passes through :meth:`FastAgiServer._serve_connection`, which checks
the peer against the allowlist, reads the header block with a timeout, runs the
call handler, and always closes the socket. A call that ends badly is logged and
forgotten; the server keeps serving. ``CancelledError`` is never swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable

from ivr.agi.channel import AgiChannel
from ivr.agi.deadlines import Watchdog
from ivr.agi.errors import AgiError, AgiProtocolError, CallerHungUp
from ivr.agi.request import AgiRequest, read_headers

log = logging.getLogger(__name__)

CallHandler = Callable[[AgiChannel], Awaitable[None]]

STREAM_LIMIT = 64 * 1024


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
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._allow = parse_allowlist(allow)
        self._verdicts: dict[str, bool] = {}
        self._header_timeout = header_timeout
        self._command_timeout = command_timeout
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._watchdog = Watchdog()

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
        self._server = await asyncio.start_server(
            self._on_connect, self._host, self._port, limit=STREAM_LIMIT, backlog=1024
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
        if self._server is not None:
            await self._server.wait_closed()
        await self._watchdog.stop()

    def _allowed(self, peer: str) -> bool:
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

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)
        try:
            await self._serve_connection(reader, writer)
        finally:
            self._calls.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peername = writer.get_extra_info("peername")
        peer = str(peername[0]) if peername else "?"
        if not self._allowed(peer):
            log.warning("refused FastAGI connection from %s: not in agi.allow", peer)
            return
        try:
            headers = await read_headers(reader, self._header_timeout)
        except TimeoutError:
            log.warning("FastAGI peer %s sent no complete header block in time", peer)
            return
        except CallerHungUp:
            log.info("FastAGI peer %s closed before the header block ended", peer)
            return
        except AgiProtocolError as exc:
            log.warning("FastAGI peer %s: %s", peer, exc)
            return
        channel = AgiChannel(
            AgiRequest(headers, reader, writer), self._command_timeout, self._watchdog
        )
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
