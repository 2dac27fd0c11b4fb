"""The queues' position and hold-time announcements in Indonesian, through a real
Asterisk: the project's prompts for the phrases, its own ``id/digits/*`` for the
numbers.

This module runs its own Asterisk with no IVR and no CSO: the calls' AGI finds nobody
listening, so the dialplan's fallback sends them to queue ``umum``, where no member
serves. A call the IVR queues passes the same ``queue`` label of the dialplan, where
the language is set (``tests/unit/test_queue_announcements.py`` checks the dialplan).

Two callers wait. Asterisk announces each at once as it joins (``say_position()``):
the first, at position 1, hears "Anda adalah penelepon berikutnya ..." and the thanks;
the second "Anda berada di antrean nomor" *dua* "untuk berbicara dengan petugas kami.",
the expected wait when Asterisk has one (a fresh queue usually gives "Perkiraan waktu
tunggu Anda sekitar" *tiga puluh* "detik."), and the thanks. The sandbox's ``full.log``
(verbose 3, as its ``asterisk.conf`` sets) names each file Asterisk plays and the
language it looked it up in: ``<Local/...;2> Playing 'digits/2.slin' (language 'id')``.
Asterisk tries ``<sounds>/id/digits/2`` before any other language (``main/file.c``), so
with our file installed there, that is the file played.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.asterisk.ami import AmiClient, AmiEvent, ivr_leg_id
from ivr.asterisk.queue_sounds import LANGUAGE, NUMBER_PROMPTS, QUEUE_SOUNDS, say_number_files
from ivr.config import Settings
from ivr.tools.sandbox import AsteriskSandbox
from tests.e2e.conftest import running_sandbox, sandbox_settings
from tests.e2e.test_fail_toward_human import caller_on_hold

pytestmark = pytest.mark.e2e

STEP = 20.0
QUEUE = "umum"
SOUND = "pln123/rendered/{}".format

#: A file Asterisk's queue played (``main/file.c``, ``ast_streamfile``); AGI's own
#: ``STREAM FILE`` lines carry ``(escape_digits=...)`` before the language and differ.
PLAYING = re.compile(
    r"<(?P<channel>[^>]+)> Playing '(?P<file>[^']+)\.[a-z0-9]+' \(language '(?P<language>[^']*)'\)$"
)
HOLD_TIME = re.compile(
    rf"Hold time for {QUEUE} is (?P<minutes>\d+) minute\(s\) (?P<seconds>\d+) seconds"
)


@dataclass(frozen=True)
class Play:
    channel: str
    file: str
    language: str


@pytest.fixture(scope="module")
def queue_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Nobody listens on the AGI port; nobody is a member of any queue."""
    # Long enough that no caller leaves the queue for the call-back offer meanwhile.
    return sandbox_settings(tmp_path_factory.mktemp("queue_announcements"), queue_max_wait=120)


@pytest.fixture(scope="module")
def queue_asterisk(queue_settings: Settings) -> Iterator[AsteriskSandbox]:
    yield from running_sandbox(queue_settings)


def read_log(path: Path, start: int) -> list[str]:
    """The lines Asterisk wrote to ``path`` after byte ``start``."""
    if not path.exists():
        return []
    with path.open("rb") as log:
        log.seek(start)
        return log.read().decode(errors="replace").splitlines()


def plays_of(lines: list[str]) -> list[Play]:
    return [
        Play(m["channel"], m["file"], m["language"])
        for line in lines
        if (m := PLAYING.search(line)) is not None
    ]


def wait_until_thanked(path: Path, start: int, channels: list[str]) -> list[str]:
    """``full.log``'s new lines once each channel has heard the thanks, which ends an
    announcement; AssertionError after STEP seconds."""
    thanks = SOUND(QUEUE_SOUNDS["queue-thankyou"])
    deadline = time.monotonic() + STEP
    while True:
        lines = read_log(path, start)
        thanked = {play.channel for play in plays_of(lines) if play.file == thanks}
        if thanked >= set(channels):
            return lines
        if time.monotonic() > deadline:
            tail = "\n".join(lines[-40:])
            raise AssertionError(f"no queue announcement to {set(channels) - thanked}:\n{tail}")
        time.sleep(0.2)


async def join(ami: AmiClient, caller: str, bot_url: str) -> tuple[str, AmiEvent]:
    """Place a call and wait for its IVR leg to join the queue."""
    call_id = await ami.originate_test_call(caller, bot_url)
    joined = await ami.wait_for_event(
        lambda e: e.name == "QueueCallerJoin" and e.get("uniqueid") == ivr_leg_id(call_id),
        STEP,
    )
    return call_id, joined


def expected_hold_time(minutes: int, seconds: int) -> list[str]:
    """What ``say_position()`` plays for the expected wait (nothing when it is 0)."""
    if minutes + seconds == 0:
        return []
    files = [SOUND(QUEUE_SOUNDS["queue-holdtime"])]
    if minutes:
        unit = "queue-minute" if minutes == 1 else "queue-minutes"
        files += [*say_number_files(minutes), SOUND(QUEUE_SOUNDS[unit])]
    if seconds:
        files += [*say_number_files(seconds), SOUND(QUEUE_SOUNDS["queue-seconds"])]
    return files


async def test_a_waiting_caller_hears_position_and_wait_in_indonesian(
    queue_asterisk: AsteriskSandbox, queue_settings: Settings
) -> None:
    full_log = queue_asterisk.log_dir / "full.log"
    start = full_log.stat().st_size if full_log.exists() else 0
    ami = await AmiClient.connect(
        queue_settings.ami.host,
        queue_settings.ami.port,
        queue_settings.ami.user,
        queue_settings.ami.secret.get_secret_value(),
    )
    calls: list[str] = []
    try:
        async with caller_on_hold(queue_settings) as bot_url:
            first, joined_first = await join(ami, "081234567890", bot_url)
            calls.append(first)
            second, joined_second = await join(ami, "0215551234", bot_url)
            calls.append(second)
            channels = [joined_first.get("channel"), joined_second.get("channel")]
            lines = await asyncio.to_thread(wait_until_thanked, full_log, start, channels)
    finally:
        for call_id in calls:
            await ami.hangup_call(call_id)
        await ami.close()

    assert [(e.get("queue"), e.get("position")) for e in (joined_first, joined_second)] == [
        (QUEUE, "1"),
        (QUEUE, "2"),
    ]
    plays = plays_of(lines)
    first_heard = [play.file for play in plays if play.channel == channels[0]]
    second_heard = [play.file for play in plays if play.channel == channels[1]]

    # Position 1: "you are next" and the thanks; Asterisk says no wait there.
    assert first_heard[:2] == [
        SOUND(QUEUE_SOUNDS["queue-youarenext"]),
        SOUND(QUEUE_SOUNDS["queue-thankyou"]),
    ]
    # Position 2: the number between our two phrases, the wait if any, the thanks.
    (hold,) = [m for line in lines if (m := HOLD_TIME.search(line)) is not None]
    wait = expected_hold_time(int(hold["minutes"]), int(hold["seconds"]))
    expected = [
        SOUND(QUEUE_SOUNDS["queue-thereare"]),
        "digits/2",
        SOUND(QUEUE_SOUNDS["queue-callswaiting"]),
        *wait,
        SOUND(QUEUE_SOUNDS["queue-thankyou"]),
    ]
    assert second_heard[: len(expected)] == expected

    # Everything the queue played to them was looked up in Indonesian ...
    ours = [play for play in plays if play.channel in channels]
    assert ours and {play.language for play in ours} == {LANGUAGE}
    # ... and each number is our file, which Asterisk finds first in that language.
    numbers = {play.file for play in ours if play.file.startswith("digits/")}
    assert "digits/2" in numbers
    for sound in numbers:
        installed = queue_asterisk.number_sounds_dir / f"{sound.removeprefix('digits/')}.wav"
        rendered = queue_settings.audio_dir / "rendered" / f"{NUMBER_PROMPTS[sound]}.wav"
        assert installed.read_bytes() == rendered.read_bytes(), sound
