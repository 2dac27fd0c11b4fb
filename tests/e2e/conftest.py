"""A real Asterisk (the sandbox chroot) and a real ``pln123 serve`` for end-to-end tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.backends.demo import seed
from ivr.config import Settings
from ivr.prompts.silent import write_silent_prompts
from ivr.tools.postgres_sandbox import PostgresSandbox
from ivr.tools.sandbox import AsteriskSandbox, free_port
from ivr.tools.sandbox_env import sandbox_from_settings, serve_env
from tests.postgres_fixture import database_name
from tests.support import IvrProcess

REPO = Path(__file__).resolve().parents[2]


def write_test_prompts(audio_dir: Path, seconds: float = 0.4) -> None:
    """The repo's prompt catalogue with a silent wav for every prompt (see
    :mod:`ivr.prompts.silent`)."""
    write_silent_prompts(REPO / "audio", audio_dir, seconds)


def sandbox_settings(tmp: Path, queue_max_wait: int, **extra: Any) -> Settings:
    """Settings for a sandbox Asterisk and a ``pln123 serve`` of their own: free ports,
    a fresh AMI secret, silent prompts and a store in ``tmp``, the repo's flows."""
    write_test_prompts(tmp / "audio")
    return Settings(
        agi={"port": free_port(), "callerbot_port": free_port()},  # type: ignore[arg-type]
        ami={"port": free_port(), "secret": secrets.token_urlsafe(16)},  # type: ignore[arg-type]
        sip_port=free_port("udp"),
        web={"port": free_port()},  # type: ignore[arg-type]
        queue_max_wait=queue_max_wait,
        db_path=tmp / "calls.sqlite3",
        flows_dir=REPO / "flows",
        audio_dir=tmp / "audio",
        **extra,
    )


def serving(settings: Settings, ready: str) -> Iterator[IvrProcess]:
    """``pln123 serve`` on the demo data for ``settings``, once its log says ``ready``,
    until the generator is closed."""
    seed(settings.store_location)
    server = IvrProcess(serve_env(settings), REPO)
    try:
        server.wait_for_log(ready, timeout=30)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def e2e_settings(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresSandbox
) -> Settings:
    """Ports, secret and store shared by the sandbox, the IVR and the runner.
    Scenarios with queue_timeout wait 5 s in a queue nobody serves.

    The store is PostgreSQL: the scenario suite runs over real Asterisk on it, as
    production does (the simulator runs it on both stores; the other real-call tests,
    with settings of their own, run on SQLite)."""
    url = postgres_server.create_database(database_name("e2e"))
    return sandbox_settings(tmp_path_factory.mktemp("e2e"), queue_max_wait=5, store={"url": url})


def running_sandbox(settings: Settings) -> Iterator[AsteriskSandbox]:
    """A sandbox Asterisk for these settings, provisioned on first use, running until
    the generator is closed."""
    sandbox = sandbox_from_settings(settings)
    sandbox.provision()
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture(scope="session")
def asterisk(e2e_settings: Settings) -> Iterator[AsteriskSandbox]:
    """The sandbox Asterisk, provisioned on first use, running for the whole session."""
    yield from running_sandbox(e2e_settings)


@pytest.fixture(scope="session")
def ivr_server(asterisk: AsteriskSandbox, e2e_settings: Settings) -> Iterator[IvrProcess]:
    """``pln123 serve`` against the sandbox, for the whole session."""
    seed(e2e_settings.store_location)
    env = serve_env(e2e_settings)
    env["PLN123_DYNAMIC_AUDIO_DIR"] = str(asterisk.sounds_dir / "dynamic")
    server = IvrProcess(env, REPO)
    try:
        yield server
    finally:
        server.stop()
