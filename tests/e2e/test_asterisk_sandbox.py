"""End-to-end checks of the sandbox Asterisk and the dialplan contract.

A real Asterisk (the chroot built by scripts/provision-asterisk.sh, or a
system one via PLN123_ASTERISK_BIN) runs the rendered ``asterisk_conf/``; tiny
FastAGI servers started here play the IVR (``main``) and the caller bot
(``callerbot``). Server tasks never assert: they hand what they saw to the
test body through futures and queues, and the test asserts with timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import re
import secrets
import shutil
import struct
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ivr.asterisk.ami import AmiClient, AmiEvent, caller_leg_id, ivr_leg_id
from ivr.asterisk.render import RenderError, render_conf
from ivr.tools.sandbox import AsteriskSandbox

# Tests that run the sandbox Asterisk are marked e2e; the rendering checks at the
# end are plain unit tests. Async tests run under asyncio_mode = "auto".
e2e = pytest.mark.e2e

IDPEL = "123456789012"
STEP = 15.0  # seconds allowed for any one thing to happen


# --------------------------------------------------------------------------
# A minimal FastAGI server for the tests
# --------------------------------------------------------------------------
class AgiHangup(Exception):
    """The channel hung up or the connection closed mid-command."""


_RESULT = re.compile(r"^200 result=(?P<result>\S*)(?: \((?P<data>[^)]*)\))?(?P<rest>.*)$")


@dataclass
class AgiReply:
    code: int
    result: str
    data: str
    line: str


@dataclass
class AgiSession:
    """One FastAGI connection: its header block and a command channel."""

    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @property
    def script(self) -> str:
        return self.headers.get("agi_network_script", "")

    async def send(self, command: str, timeout: float = STEP) -> AgiReply:
        """Send one AGI command and read its reply, skipping async HANGUP notices."""
        self.writer.write(command.encode() + b"\n")
        await self.writer.drain()
        while True:
            raw = await asyncio.wait_for(self.reader.readline(), timeout)
            if not raw:
                raise AgiHangup(f"connection closed during {command!r}")
            line = raw.decode(errors="replace").strip()
            if line == "HANGUP":
                continue
            code = int(line[:3]) if line[:3].isdigit() else 0
            if code == 511:
                raise AgiHangup(f"{command!r}: {line}")
            match = _RESULT.match(line)
            if match is None:
                return AgiReply(code, "", "", line)
            return AgiReply(code, match["result"], match["data"] or "", line)


Handler = Callable[[AgiSession], Awaitable[Any]]


@dataclass
class AgiOutcome:
    script: str
    headers: dict[str, str]
    result: Any = None
    error: BaseException | None = None


@dataclass
class FastAgiServer:
    """Routes each connection by script name to a handler; outcomes go to a queue."""

    handlers: dict[str, Handler]
    outcomes: asyncio.Queue[AgiOutcome] = field(default_factory=asyncio.Queue)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def next_outcome(self, script: str, timeout: float = STEP) -> AgiOutcome:
        """The next finished session of ``script`` (others are put back)."""
        async with asyncio.timeout(timeout):
            while True:
                outcome = await self.outcomes.get()
                if outcome.script == script:
                    return outcome
                self.outcomes.put_nowait(outcome)
                await asyncio.sleep(0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        headers: dict[str, str] = {}
        outcome = AgiOutcome("", headers)
        try:
            headers.update(await _read_agi_headers(reader))
            outcome.script = headers.get("agi_network_script", "")
            handler = self.handlers.get(outcome.script)
            if handler is None:
                raise LookupError(f"no handler for AGI script {outcome.script!r}")
            outcome.result = await handler(AgiSession(headers, reader, writer))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to the test body, which asserts
            outcome.error = exc
        finally:
            self.outcomes.put_nowait(outcome)
            self._writers.discard(writer)
            writer.close()


async def _read_agi_headers(reader: asyncio.StreamReader, timeout: float = 5.0) -> dict[str, str]:
    headers: dict[str, str] = {}
    async with asyncio.timeout(timeout):
        while True:
            raw = await reader.readline()
            if not raw:
                raise AgiHangup("connection closed in the AGI header block")
            line = raw.decode(errors="replace").rstrip("\r\n")
            if not line:
                return headers
            key, _, value = line.partition(":")
            headers[key.strip()] = value.strip()


@contextlib.asynccontextmanager
async def agi_server(
    host: str, port: int, handlers: dict[str, Handler]
) -> AsyncIterator[FastAgiServer]:
    server = FastAgiServer(handlers)
    await server.start(host, port)
    try:
        yield server
    finally:
        await server.close()


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------
def _write_tone(path: Path, seconds: float = 0.3, hz: float = 440.0) -> None:
    """An 8 kHz mono 16-bit WAV, the format of the IVR's prompts."""
    frames = int(8000 * seconds)
    samples = (int(8000 * math.sin(2 * math.pi * hz * n / 8000)) for n in range(frames))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AsteriskSandbox]:
    audio = tmp_path_factory.mktemp("audio")
    _write_tone(audio / "selftest.wav")
    box = AsteriskSandbox(agi_port=0, callerbot_port=0, ami_port=0, sip_port=0, audio_dir=audio)
    if not box.is_system and os.geteuid() != 0:
        pytest.skip("the chroot sandbox needs root (or set PLN123_ASTERISK_BIN)")
    if box.is_system and shutil.which(os.environ.get("PLN123_ASTERISK_BIN", "asterisk")) is None:
        pytest.skip("PLN123_ASTERISK_BIN is set but not found")
    box.provision()
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest_asyncio.fixture
async def ami(sandbox: AsteriskSandbox) -> AsyncIterator[AmiClient]:
    client = await AmiClient.connect(
        sandbox.ami_host, sandbox.ami_port, sandbox.ami_user, sandbox.ami_secret, timeout=STEP
    )
    try:
        yield client
    finally:
        await client.close()


def _callerbot_url(sandbox: AsteriskSandbox) -> str:
    return f"agi://{sandbox.agi_host}:{sandbox.callerbot_port}/callerbot"


def _joined(queue: str, call_id: str) -> Callable[[AmiEvent], bool]:
    def predicate(event: AmiEvent) -> bool:
        return (
            event.name == "QueueCallerJoin"
            and event.get("queue") == queue
            and event.get("uniqueid") == ivr_leg_id(call_id)
        )

    return predicate


def _hung_up(uniqueid: str) -> Callable[[AmiEvent], bool]:
    return lambda e: e.name == "Hangup" and e.get("uniqueid") == uniqueid


def _hold_line(release: asyncio.Event) -> Handler:
    """A caller bot that just stays on the line until released (or STEP passes)."""

    async def callerbot(session: AgiSession) -> str:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), STEP)
        return "released"

    return callerbot


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------
@e2e
async def test_call_reaches_ivr_with_caller_id_and_all_dtmf(
    sandbox: AsteriskSandbox, ami: AmiClient
) -> None:
    """(a) Originate recipe: caller ID reaches `main`; 12 DTMF digits reach GET DATA."""
    caller = "0215551234"
    listening = asyncio.Event()
    ivr_done = asyncio.Event()

    async def main(session: AgiSession) -> dict[str, str]:
        try:
            test_call = await session.send("GET VARIABLE PLN123_TEST_CALL")
            cid = await session.send("GET VARIABLE CALLERID(num)")
            listening.set()
            digits = await session.send(f"GET DATA beep 10000 {len(IDPEL)}")
            await session.send("SET VARIABLE PLN123_ACTION hangup")
            return {
                "test_call": test_call.data,
                "callerid_var": cid.data,
                "digits": digits.result,
                "digits_line": digits.line,
            }
        finally:
            ivr_done.set()

    async def callerbot(session: AgiSession) -> str:
        await asyncio.wait_for(listening.wait(), STEP)
        sent = await session.send(f"EXEC SendDTMF {IDPEL},100,100")
        await asyncio.wait_for(ivr_done.wait(), STEP)
        return sent.line

    async with (
        agi_server(sandbox.agi_host, sandbox.agi_port, {"main": main}) as ivr,
        agi_server(sandbox.agi_host, sandbox.callerbot_port, {"callerbot": callerbot}) as bot,
    ):
        call_id = await ami.originate_test_call(caller, _callerbot_url(sandbox))
        seen = await ivr.next_outcome("main")
        bot_seen = await bot.next_outcome("callerbot")

    assert seen.error is None, f"IVR script failed: {seen.error!r}"
    assert bot_seen.error is None, f"caller bot failed: {bot_seen.error!r}"
    assert seen.headers["agi_callerid"] == caller
    assert seen.headers["agi_uniqueid"] == ivr_leg_id(call_id)
    assert seen.headers["agi_context"] == "pln123-ivr"
    assert seen.headers["agi_extension"] == "123"
    assert seen.result["callerid_var"] == caller
    assert seen.result["test_call"] == call_id
    assert seen.result["digits"] == IDPEL, seen.result["digits_line"]
    assert bot_seen.headers["agi_uniqueid"] == caller_leg_id(call_id)
    # PLN123_ACTION=hangup: the IVR leg hangs up without queueing.
    await ami.wait_for_event(_hung_up(ivr_leg_id(call_id)), STEP)
    assert not any(
        e.name == "QueueCallerJoin" and e.get("uniqueid") == ivr_leg_id(call_id)
        for e in ami.events()
    )


@e2e
async def test_unreachable_ivr_falls_back_to_queue_umum(
    sandbox: AsteriskSandbox, ami: AmiClient
) -> None:
    """(b) Nothing listens on the AGI port: the call still lands in queue umum."""
    release = asyncio.Event()
    with contextlib.suppress(OSError):  # prove the port is free: nothing may listen there
        probe = await asyncio.open_connection(sandbox.agi_host, sandbox.agi_port)
        probe[1].close()
        pytest.fail(f"something listens on the AGI port {sandbox.agi_port}")
    async with agi_server(
        sandbox.agi_host, sandbox.callerbot_port, {"callerbot": _hold_line(release)}
    ) as bot:
        # The other recipe: no URL, the pln123-test-caller context runs the bot.
        call_id = await ami.originate_test_call("081234567890")
        try:
            joined = await ami.wait_for_event(_joined("umum", call_id), STEP)
        finally:
            release.set()
        await ami.wait_for_event(_hung_up(ivr_leg_id(call_id)), STEP)
        outcome = await bot.next_outcome("callerbot")

    assert joined.variables.get("PLN123_QUEUE_REASON") == "fallback"
    assert joined.get("calleridnum") == "081234567890"
    assert outcome.error is None, repr(outcome.error)


@e2e
async def test_ivr_can_send_the_call_to_queue_periksa(
    sandbox: AsteriskSandbox, ami: AmiClient
) -> None:
    """(c) PLN123_ACTION=queue, PLN123_QUEUE=periksa: the call joins queue periksa."""
    release = asyncio.Event()

    async def main(session: AgiSession) -> list[str]:
        replies = [
            await session.send("SET VARIABLE PLN123_ACTION queue"),
            await session.send("SET VARIABLE PLN123_QUEUE periksa"),
        ]
        return [r.line for r in replies]

    async with (
        agi_server(sandbox.agi_host, sandbox.agi_port, {"main": main}) as ivr,
        agi_server(sandbox.agi_host, sandbox.callerbot_port, {"callerbot": _hold_line(release)}),
    ):
        call_id = await ami.originate_test_call("0215550000", _callerbot_url(sandbox))
        try:
            seen = await ivr.next_outcome("main")
            joined = await ami.wait_for_event(_joined("periksa", call_id), STEP)
        finally:
            release.set()
        await ami.wait_for_event(_hung_up(ivr_leg_id(call_id)), STEP)

    assert seen.error is None, repr(seen.error)
    assert joined.variables.get("PLN123_QUEUE_REASON") == "ivr"
    assert joined.variables.get("PLN123_QUEUE") == "periksa"


@e2e
async def test_prompts_from_audio_dir_are_playable(
    sandbox: AsteriskSandbox, ami: AmiClient
) -> None:
    """The sandbox copies audio/ so the IVR can play pln123/<name>.

    Also pins down a trap: STREAM FILE of a missing file answers result=-1 and
    the session goes on, but Asterisk remembers the failure (AGISTATUS is
    FAILURE when the script returns). The dialplan must still follow the IVR's
    explicit instruction (queue periksa), not fall back to umum.
    """
    release = asyncio.Event()

    async def main(session: AgiSession) -> tuple[AgiReply, AgiReply, AgiReply]:
        present = await session.send('STREAM FILE pln123/selftest ""')
        missing = await session.send('STREAM FILE pln123/no-such-prompt ""')
        await session.send("SET VARIABLE PLN123_QUEUE periksa")
        after = await session.send("SET VARIABLE PLN123_ACTION queue")
        return present, missing, after

    async with (
        agi_server(sandbox.agi_host, sandbox.agi_port, {"main": main}) as ivr,
        agi_server(sandbox.agi_host, sandbox.callerbot_port, {"callerbot": _hold_line(release)}),
    ):
        try:
            call_id = await ami.originate_test_call("0215550001", _callerbot_url(sandbox))
            seen = await ivr.next_outcome("main")
            joined = await ami.wait_for_event(_joined("periksa", call_id), STEP)
        finally:
            release.set()
        await ami.wait_for_event(_hung_up(ivr_leg_id(call_id)), STEP)

    assert seen.error is None, repr(seen.error)
    present, missing, after = seen.result
    assert present.result == "0" and "endpos=" in present.line, present.line
    assert int(present.line.rsplit("endpos=", 1)[1]) > 0, present.line
    assert missing.result == "-1", missing.line
    assert after.line == "200 result=1", after.line
    assert joined.variables.get("PLN123_QUEUE_REASON") == "ivr"


@e2e
async def test_restart_keeps_ports_and_serves_again(
    sandbox: AsteriskSandbox,
) -> None:
    """Several starts in sequence work: restart, log in again, run a CLI command."""
    old_pid = sandbox.pid
    sandbox.restart()
    assert sandbox.running and sandbox.pid != old_pid
    async with await AmiClient.connect(
        sandbox.ami_host, sandbox.ami_port, sandbox.ami_user, sandbox.ami_secret, timeout=STEP
    ) as client:
        output = await client.command("queue show umum")
    assert "umum has 0 calls" in output, output


# --------------------------------------------------------------------------
# SIP softphone endpoint
# --------------------------------------------------------------------------
class _SipClient(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[str] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.put_nowait(data.decode(errors="replace"))


def _register(port: int, local_port: int, cseq: int, call_id: str, auth: str = "") -> bytes:
    lines = [
        f"REGISTER sip:127.0.0.1:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};rport;branch=z9hG4bK{secrets.token_hex(8)}",
        "Max-Forwards: 70",
        "From: <sip:softphone@127.0.0.1>;tag=pln123test",
        "To: <sip:softphone@127.0.0.1>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <sip:softphone@127.0.0.1:{local_port}>",
        "Expires: 60",
    ]
    if auth:
        lines.append(f"Authorization: {auth}")
    return ("\r\n".join([*lines, "Content-Length: 0", "", ""])).encode()


def _digest(challenge: str, password: str, uri: str) -> str:
    """An MD5 digest answer (qop=auth) to a WWW-Authenticate challenge."""
    params = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge))
    realm, nonce = params["realm"], params["nonce"]
    cnonce, nc = secrets.token_hex(8), "00000001"
    ha1 = hashlib.md5(f"softphone:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
    answer = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
    opaque = f', opaque="{params["opaque"]}"' if "opaque" in params else ""
    return (
        f'Digest username="softphone", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{answer}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"{opaque}'
    )


async def _register_status(sandbox: AsteriskSandbox, password: str) -> int:
    """Register as the softphone with ``password``; the final SIP status code."""
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        _SipClient, local_addr=("127.0.0.1", 0), remote_addr=("127.0.0.1", sandbox.sip_port)
    )
    try:
        local_port = transport.get_extra_info("sockname")[1]
        call_id = secrets.token_hex(8)
        transport.sendto(_register(sandbox.sip_port, local_port, 1, call_id))
        reply = await asyncio.wait_for(client.replies.get(), STEP)
        if not reply.startswith("SIP/2.0 401"):
            return int(reply.split()[1])
        challenge = next(
            line.split(":", 1)[1].strip()
            for line in reply.splitlines()
            if line.lower().startswith("www-authenticate:") and "MD5" in line.upper()
        )
        auth = _digest(challenge, password, f"sip:127.0.0.1:{sandbox.sip_port}")
        transport.sendto(_register(sandbox.sip_port, local_port, 2, call_id, auth))
        return int((await asyncio.wait_for(client.replies.get(), STEP)).split()[1])
    finally:
        transport.close()


@e2e
async def test_softphone_registers_with_the_rendered_password(sandbox: AsteriskSandbox) -> None:
    """pjsip.conf: the softphone endpoint on loopback takes its password, and only it."""
    assert await _register_status(sandbox, sandbox.sip_password) == 200
    assert await _register_status(sandbox, "wrong-" + sandbox.sip_password) in (401, 403)


# --------------------------------------------------------------------------
# Rendering (no Asterisk needed)
# --------------------------------------------------------------------------
def test_render_names_the_file_and_the_missing_placeholder(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.conf").write_text("port = ${ami_port}\n")
    (src / "bad.conf").write_text("exten => 1,1,AGI(agi://${agi_host}:${agi_port}/main)\n")
    dest = tmp_path / "etc"
    with pytest.raises(RenderError) as caught:
        render_conf(src, dest, {"ami_port": "5038", "agi_host": "127.0.0.1"})
    assert "bad.conf" in str(caught.value) and "${agi_port}" in str(caught.value)
    assert not dest.exists(), "nothing may be written when a template is bad"


def test_render_leaves_asterisk_variables_alone(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    line = 'same => n,Set(Q=${IF($["${PLN123_QUEUE}" = ""]?umum:${CALLERID(num)})}) ; $$ ${x}\n'
    (src / "extensions.conf").write_text(line)
    render_conf(src, tmp_path / "etc", {"x": "42"})
    assert (tmp_path / "etc" / "extensions.conf").read_text() == line.replace("${x}", "42")
