"""A scriptable fake Asterisk that places FastAGI calls over a real TCP socket.

It connects to a FastAGI server the way Asterisk does, sends the ``agi_*`` header
block, then answers each command line as Asterisk would (``200 result=...``), pressing
the keys of a :class:`CallScript` in order. Faults can be injected at any command
(``HANGUP`` line, ``511`` dead channel, ``result=-1``, a ``520`` usage text, a cut or
silent connection), and the header block can be cut short. Every command received is
recorded in the :class:`CallRecord` that :func:`place_call` returns.

Used by the unit tests and, with ``measure=True``, by the benchmark load generator, so
the per-command path is one ``readline`` and one dict look-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DEAD_CHANNEL = "511 Command Not Permitted on a dead channel or intercept routine\n"
INVALID = "510 Invalid or unknown command\n"
USAGE = (
    "520-Invalid command syntax.  Proper usage follows:\n"
    " Usage: STREAM FILE <filename> <escape digits> [sample offset]\n"
    "        Send the given file, allowing playback to be interrupted by the given\n"
    "        digits, if any.\n"
    "520 End of proper usage.\n"
)
USAGE_BRIEF = "520 Invalid command syntax.  Proper usage not available.\n"

_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_ESCAPED = re.compile(r"\\(.)")


class Fault(enum.Enum):
    """What the fake does instead of answering one command."""

    #: Reply ``HANGUP``; the channel is dead from then on (every command gets ``511``).
    HANGUP_LINE = "hangup line"
    #: Reply ``511 Command Not Permitted on a dead channel``; the channel is dead.
    DEAD_CHANNEL = "511"
    #: Reply ``200 result=-1``; the channel lives on (``CHANNEL STATUS`` says up).
    FAILED = "result=-1"
    #: Reply ``200 result=-1`` because the caller hung up: the channel is dead after.
    FAILED_DEAD = "result=-1, dead"
    #: Reply the multi-line ``520-`` usage text ending in ``520 End of proper usage.``.
    USAGE = "520 multi-line"
    #: Reply the one-line ``520`` Asterisk sends for a command without usage text.
    USAGE_BRIEF = "520 one line"
    #: Close the connection without answering.
    CLOSE = "close"
    #: Never answer (keep reading, so the server's time limit is what ends the call).
    SILENT = "silent"


class End(enum.Enum):
    """How a fake call ended."""

    #: The server closed the connection (its handler returned, or it refused the call).
    SERVER_CLOSED = "server closed"
    #: The server sent ``HANGUP``; the fake answered and closed.
    HANGUP = "hangup"
    #: The fake closed on purpose (a cut header block, :attr:`Fault.CLOSE`).
    CUT = "cut"


@dataclass(frozen=True)
class CallScript:
    """What the fake caller does during one call."""

    #: Keys the caller presses, in order, each used by one answer.
    keys: str = ""
    #: A key interrupts a ``STREAM FILE`` whose escape digits hold it (else it waits for
    #: ``WAIT FOR DIGIT`` or ``GET DATA``).
    barge_in: bool = True
    #: Faults by 1-based command number: ``{2: Fault.CLOSE}`` cuts at the 2nd command.
    faults: Mapping[int, Fault] = field(default_factory=dict)
    #: Send only this many header lines, then close (None: the whole block).
    cut_header_after: int | None = None
    #: The FastAGI script the call asks for (``agi://host:port/<script>``).
    script: str = "main"
    callerid: str = "081234567890"
    uniqueid: str = "1700000000.1"
    #: Seconds (uniform between the two) the fake takes before answering a command that
    #: plays or listens, like a prompt playing or a caller thinking. Not part of ``steps``.
    media_delay: tuple[float, float] = (0.0, 0.0)
    #: Seconds (uniform) before answering a command that only listens (``WAIT FOR
    #: DIGIT``): the caller pressing a key. None: :attr:`media_delay`.
    key_delay: tuple[float, float] | None = None
    #: Record step latencies in :attr:`CallRecord.steps`.
    measure: bool = False


@dataclass
class CallRecord:
    """What happened during one fake call."""

    #: Every command line received, in order (faulted ones too).
    commands: list[str] = field(default_factory=list)
    #: Channel variables the server set.
    variables: dict[str, str] = field(default_factory=dict)
    #: Seconds from each answer (or the header block) sent to the next command received.
    steps: list[float] = field(default_factory=list)
    ended: End = End.SERVER_CLOSED
    #: Keys the caller never got to press.
    keys_left: str = ""
    #: ``time.perf_counter()`` when the header block was sent, and when the fake closed
    #: the connection: the call was open in between.
    opened_at: float = 0.0
    closed_at: float = 0.0


def header_lines(script: CallScript, host: str, port: int) -> list[str]:
    """The ``agi_*`` block Asterisk sends for ``AGI(agi://host:port/script)``."""
    return [
        "agi_network: yes",
        f"agi_network_script: {script.script}",
        f"agi_request: agi://{host}:{port}/{script.script}",
        "agi_channel: PJSIP/caller-00000001",
        "agi_language: id",
        "agi_type: PJSIP",
        f"agi_uniqueid: {script.uniqueid}",
        "agi_version: 22.0.0",
        f"agi_callerid: {script.callerid}",
        "agi_calleridname: unknown",
        "agi_callingpres: 0",
        "agi_callingani2: 0",
        "agi_callington: 0",
        "agi_callingtns: 0",
        "agi_dnid: 123",
        "agi_rdnis: unknown",
        "agi_context: pln123-ivr",
        "agi_extension: 123",
        "agi_priority: 2",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
        "agi_threadid: 140000000000001",
    ]


def parse_args(text: str) -> list[str]:
    """AGI arguments: words, or double-quoted strings with backslash escapes."""
    if '"' not in text:
        return text.split()
    return [
        _ESCAPED.sub(r"\1", quoted) if bare == "" else bare for quoted, bare in _ARG.findall(text)
    ]


class _Channel:
    """One call's state, and an answer per AGI command."""

    def __init__(self, script: CallScript, record: CallRecord) -> None:
        self.keys = script.keys
        self.next_key = 0
        self.barge_in = script.barge_in
        self.variables = record.variables
        self.dead = False

    def _key(self) -> str | None:
        if self.next_key >= len(self.keys):
            return None
        key = self.keys[self.next_key]
        self.next_key += 1
        return key

    def answer(self, _args: str) -> str:
        return "200 result=0\n"

    def stream_file(self, args: str) -> str:
        words = parse_args(args)
        escape = words[1] if len(words) > 1 else ""
        if self.barge_in and self.next_key < len(self.keys) and self.keys[self.next_key] in escape:
            key = self.keys[self.next_key]
            self.next_key += 1
            return f"200 result={ord(key)} endpos=1234\n"
        return "200 result=0 endpos=8000\n"

    def wait_for_digit(self, _args: str) -> str:
        key = self._key()
        return f"200 result={ord(key)}\n" if key is not None else "200 result=0\n"

    def get_data(self, args: str) -> str:
        words = parse_args(args)
        most = int(words[2]) if len(words) > 2 else 1024
        digits = ""
        while len(digits) < most:
            key = self._key()
            if key is None:
                return f"200 result={digits} (timeout)\n"
            if key == "#":
                break
            digits += key
        return f"200 result={digits}\n"

    def say(self, _args: str) -> str:
        return "200 result=0\n"

    def set_variable(self, args: str) -> str:
        words = parse_args(args)
        if len(words) >= 2:
            self.variables[words[0]] = words[1]
        return "200 result=1\n"

    def get_variable(self, args: str) -> str:
        words = parse_args(args)
        value = self.variables.get(words[0]) if words else None
        return "200 result=0\n" if value is None else f"200 result=1 ({value})\n"

    def exec(self, _args: str) -> str:
        return "200 result=0\n"

    def channel_status(self, _args: str) -> str:
        return "200 result=6\n"

    def verbose(self, _args: str) -> str:
        return "200 result=1\n"


Answer = Callable[[_Channel, str], str]

#: What a command does to the line, for the delay before its answer: nothing, play a
#: prompt (then maybe listen: ``GET DATA``), or only listen for a key.
_INSTANT, _PLAYS, _LISTENS = 0, 1, 2

#: One-word commands: verb -> (answer, what it does to the line).
_ONE_WORD: dict[str, tuple[Answer, int]] = {
    "ANSWER": (_Channel.answer, _INSTANT),
    "EXEC": (_Channel.exec, _INSTANT),
    "VERBOSE": (_Channel.verbose, _INSTANT),
    "NOOP": (_Channel.answer, _INSTANT),
}
#: Commands of two words or more, by their first two words.
_TWO_WORDS: dict[str, tuple[Answer, int]] = {
    "STREAM FILE": (_Channel.stream_file, _PLAYS),
    "WAIT FOR": (_Channel.wait_for_digit, _LISTENS),
    "GET DATA": (_Channel.get_data, _PLAYS),
    "SAY DIGITS": (_Channel.say, _PLAYS),
    "SAY NUMBER": (_Channel.say, _PLAYS),
    "SET VARIABLE": (_Channel.set_variable, _INSTANT),
    "GET VARIABLE": (_Channel.get_variable, _INSTANT),
    "CHANNEL STATUS": (_Channel.channel_status, _INSTANT),
}


def _dispatch(line: str) -> tuple[Answer, int, str] | None:
    """The answer for a command line, what it does to the line, and its arguments."""
    head, _, rest = line.partition(" ")
    head = head.upper()
    found = _ONE_WORD.get(head)
    if found is None:
        second, _, rest = rest.partition(" ")
        found = _TWO_WORDS.get(f"{head} {second.upper()}")
        if found is None:
            return None
    return found[0], found[1], rest


def _fault_reply(fault: Fault, channel: _Channel) -> str:
    if fault is Fault.HANGUP_LINE:
        channel.dead = True
        return "HANGUP\n"
    if fault is Fault.DEAD_CHANNEL:
        channel.dead = True
        return DEAD_CHANNEL
    if fault is Fault.FAILED:
        return "200 result=-1\n"
    if fault is Fault.FAILED_DEAD:
        channel.dead = True
        return "200 result=-1\n"
    if fault is Fault.USAGE:
        return USAGE
    return USAGE_BRIEF


async def place_call(
    host: str,
    port: int,
    script: CallScript | None = None,
    *,
    open_gate: asyncio.Semaphore | None = None,
) -> CallRecord:
    """Call the FastAGI server at ``host:port`` and play ``script``; what happened.

    ``open_gate`` bounds how many calls are connecting and sending their header block
    at once (a load generator's way to stay under the listen backlog). Raises
    :class:`OSError` when the server cannot be reached.
    """
    script = script or CallScript()
    record = CallRecord()
    gate: contextlib.AbstractAsyncContextManager[object] = open_gate or contextlib.nullcontext()
    async with gate:
        reader, writer = await asyncio.open_connection(host, port)
        cut = await _send_headers(writer, script, host, port)
        record.opened_at = time.perf_counter()
    try:
        if cut:
            record.ended = End.CUT
        else:
            channel = _Channel(script, record)
            await _converse(reader, writer, script, channel, record)
            record.keys_left = channel.keys[channel.next_key :]
    finally:
        writer.close()
        record.closed_at = time.perf_counter()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return record


async def _send_headers(
    writer: asyncio.StreamWriter, script: CallScript, host: str, port: int
) -> bool:
    """Write the header block; True when it was cut short on purpose."""
    lines = header_lines(script, host, port)
    cut = script.cut_header_after is not None
    if cut:
        lines = lines[: script.cut_header_after]
    block = "".join(f"{line}\n" for line in lines) + ("" if cut else "\n")
    writer.write(block.encode())
    with contextlib.suppress(ConnectionError):
        await writer.drain()  # a refused call: the conversation sees the end of file
    return cut


async def _converse(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    script: CallScript,
    channel: _Channel,
    record: CallRecord,
) -> None:
    commands = record.commands
    steps = record.steps if script.measure else None
    faults = script.faults
    delays = {_PLAYS: script.media_delay, _LISTENS: script.key_delay or script.media_delay}
    delay = any(high > 0 for _low, high in delays.values())
    uniform = random.uniform
    perf_counter = time.perf_counter
    sent_at = perf_counter()
    while True:
        try:
            raw = await reader.readline()
        except ConnectionError:
            raw = b""
        if steps is not None:
            steps.append(perf_counter() - sent_at)
        if not raw.endswith(b"\n"):
            if steps is not None:
                steps.pop()
            record.ended = End.SERVER_CLOSED
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        commands.append(line)
        fault = faults.get(len(commands)) if faults else None
        if fault is not None:
            if fault is Fault.CLOSE:
                record.ended = End.CUT
                return
            if fault is Fault.SILENT:
                continue
            reply = _fault_reply(fault, channel)
        elif channel.dead:
            reply = DEAD_CHANNEL
        else:
            found = _dispatch(line)
            if found is not None:
                answer, media, args = found
                reply = answer(channel, args)
                if media and delay:
                    low, high = delays[media]
                    if high > 0:
                        await asyncio.sleep(uniform(low, high))
            elif line[:6].upper() == "HANGUP":
                writer.write(b"200 result=1\n")
                record.ended = End.HANGUP
                return
            else:
                reply = INVALID
        writer.write(reply.encode())
        try:
            await writer.drain()
        except ConnectionError:
            record.ended = End.SERVER_CLOSED
            return
        sent_at = perf_counter()
