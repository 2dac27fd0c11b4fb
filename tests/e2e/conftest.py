"""A real Asterisk (the sandbox chroot) and a real ``pln123 serve`` for end-to-end tests."""

from __future__ import annotations

import os
import secrets
import shutil
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.asterisk.sandbox import AsteriskSandbox, free_port
from ivr.backends.demo import seed
from ivr.config import Settings
from ivr.prompts.catalogue import PromptCatalogue
from tests.support import IvrProcess

REPO = Path(__file__).resolve().parents[2]


def write_test_prompts(audio_dir: Path, seconds: float = 0.4) -> None:
    """A copy of the prompt catalogue with a real (silent) 8 kHz wav for every prompt.

    The IVR then plays each prompt with STREAM FILE over the call, so the caller bot's
    keys arrive while a prompt plays, as a real caller's do.
    """
    audio_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "audio" / "prompts.yaml", audio_dir / "prompts.yaml")
    catalogue = PromptCatalogue.load(audio_dir)
    rendered = audio_dir / "rendered"
    rendered.mkdir(exist_ok=True)
    frames = b"\x00\x00" * int(8000 * seconds)
    for prompt_id in catalogue.ids():
        with wave.open(str(rendered / f"{prompt_id}.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(frames)


@pytest.fixture(scope="session")
def e2e_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Ports, secret and database shared by the sandbox, the IVR and the runner."""
    tmp = tmp_path_factory.mktemp("e2e")
    write_test_prompts(tmp / "audio")
    return Settings(
        agi={"port": free_port(), "callerbot_port": free_port()},  # type: ignore[arg-type]
        ami={"port": free_port(), "secret": secrets.token_urlsafe(16)},  # type: ignore[arg-type]
        sip_port=free_port("udp"),
        db_path=tmp / "calls.sqlite3",
        flows_dir=REPO / "flows",
        audio_dir=tmp / "audio",
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes ``pln123`` read these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLN123_")}
    env.update(
        PLN123_AGI__PORT=str(settings.agi.port),
        PLN123_AGI__CALLERBOT_PORT=str(settings.agi.callerbot_port),
        PLN123_AMI__PORT=str(settings.ami.port),
        PLN123_AMI__SECRET=settings.ami.secret.get_secret_value(),
        PLN123_DB_PATH=str(settings.db_path),
        PLN123_FLOWS_DIR=str(settings.flows_dir),
        PLN123_AUDIO_DIR=str(settings.audio_dir),
        PLN123_CONFIG="",
    )
    return env


@pytest.fixture(scope="session")
def asterisk(e2e_settings: Settings) -> Iterator[AsteriskSandbox]:
    """The sandbox Asterisk, provisioned on first use, running for the whole session."""
    from ivr.asterisk_env import sandbox_from_settings

    sandbox = sandbox_from_settings(e2e_settings)
    sandbox.provision()
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture(scope="session")
def ivr_server(asterisk: AsteriskSandbox, e2e_settings: Settings) -> Iterator[IvrProcess]:
    """``pln123 serve`` against the sandbox, for the whole session."""
    seed(e2e_settings.db_path)
    server = IvrProcess(settings_env(e2e_settings), REPO)
    try:
        yield server
    finally:
        server.stop()
