"""A FastAGI relay between Asterisk and the IVR that times the IVR's steps.

The bench's dialplan points at the relay, which passes every byte on to ``pln123
serve`` and back unchanged. A *step* is the time from Asterisk's answer to a command
(or the end of the header block) arriving at the relay to the IVR's next command
arriving there: the IVR's own turn, plus two loopback hops and the relay's own
wake-up (tens of microseconds). Answers are the lines ``200 ...`` and ``5xx ...``;
neither ``100 Trying...`` nor the ``HANGUP`` notice Asterisk sends when a caller hangs
up starts a step.

It runs as a process of its own (``python -m ivr.tools.bench.agi_relay LISTEN TARGET
[TRANSCRIPT]``) so the bench's busy event loop cannot delay its clock. It prints
``ready`` once it listens; told anything on stdin (or at its end) it prints one JSON
line: the steps in seconds, the most sessions open at once, the sessions relayed and
its own CPU. With ``TRANSCRIPT`` (``--keep``) it also writes there every command and
answer, a line each: wall-clock time, the channel, ``>`` (IVR to Asterisk) or ``<``,
the line; matched with Asterisk's DTMF log, it shows whether a key arrived while a
command that reads keys was running.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

HOST = "127.0.0.1"
#: How an answer line starts; ``100 result=0 Trying...`` (an ``EXEC`` under way) is none,
#: and may arrive in one read with the ``200`` line after it.
_ANSWERS = (b"200 ", b"5")
_LATER_ANSWERS = (b"\n200 ", b"\n5")


class _Stats:
    def __init__(self, transcript: bool) -> None:
        self.steps: list[float] = []
        self.open = self.peak = self.sessions = 0
        #: (wall-clock time, channel, direction, bytes) when a transcript is asked for.
        self.lines: list[tuple[float, str, str, bytes]] | None = [] if transcript else None

    def note(self, channel: str, direction: str, data: bytes) -> None:
        if self.lines is not None:
            now = time.time()
            self.lines.extend((now, channel, direction, line) for line in data.splitlines())

    def write(self, path: str) -> None:
        with open(path, "w") as out:
            for at, channel, direction, line in self.lines or []:
                out.write(f"{at:.3f} {channel} {direction} {line.decode(errors='replace')}\n")


class _FromAsterisk(asyncio.Protocol):
    """Asterisk's side of one session; opens the IVR's side."""

    def __init__(self, stats: _Stats, target: int) -> None:
        self._stats, self._target = stats, target
        self._transport: asyncio.Transport | None = None
        self._ivr: asyncio.Transport | None = None
        self._pending: list[bytes] = []
        self._header = b""
        self._in_header = True
        #: When Asterisk's last answer (or the header block) arrived; None after a step.
        self.answered: float | None = None
        self._channel = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._stats.open += 1
        self._stats.sessions += 1
        self._stats.peak = max(self._stats.peak, self._stats.open)
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            ivr, _ = await loop.create_connection(lambda: _FromIvr(self), HOST, self._target)
        except OSError:
            if self._transport is not None:
                self._transport.close()
            return
        self._ivr = ivr
        for chunk in self._pending:
            ivr.write(chunk)
        self._pending.clear()
        if self._transport is None or self._transport.is_closing():
            ivr.close()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if self._in_header:
            self._header += data
            if b"\n\n" in self._header:
                self._in_header = False
                self.answered = now
                for line in self._header.splitlines():
                    if line.startswith(b"agi_channel: "):
                        self._channel = line[13:].decode(errors="replace").replace(" ", "_")
                self._stats.note(self._channel, "<", self._header.split(b"\n\n", 1)[1])
        else:
            if data.startswith(_ANSWERS) or any(mark in data for mark in _LATER_ANSWERS):
                self.answered = now
            self._stats.note(self._channel, "<", data)
        if self._ivr is None:
            self._pending.append(data)
        else:
            self._ivr.write(data)

    def command(self, data: bytes) -> None:
        """The IVR sent ``data``: a step ends; pass it on to Asterisk."""
        if self.answered is not None:
            self._stats.steps.append(time.perf_counter() - self.answered)
            self.answered = None
        self._stats.note(self._channel, ">", data)
        if self._transport is not None:
            self._transport.write(data)

    def ivr_closed(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stats.open -= 1
        self._transport = None
        if self._ivr is not None:
            self._ivr.close()


class _FromIvr(asyncio.Protocol):
    def __init__(self, peer: _FromAsterisk) -> None:
        self._peer = peer

    def data_received(self, data: bytes) -> None:
        self._peer.command(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._peer.ivr_closed()


async def _main(listen: int, target: int, transcript: str | None) -> None:
    stats = _Stats(transcript is not None)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _FromAsterisk(stats, target), HOST, listen, backlog=4096
    )
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    server.close()
    if transcript is not None:
        stats.write(transcript)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "steps": stats.steps,
        "peak": stats.peak,
        "sessions": stats.sessions,
        "cpu": usage.ru_utime + usage.ru_stime,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(
        _main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
    )
