"""Where settings come from: the config file, its absence, and the agents table."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config import Settings, config_file_path

TOML = """
queue_max_wait = 120

[web]
port = 9123

[agents.cso1]
name = "Dewi Lestari"
token = "rahasia"
interface = "PJSIP/cso1"
queues = ["periksa", "umum"]
"""


@pytest.fixture
def in_folder_with_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pln123.toml").write_text(TOML)
    monkeypatch.chdir(tmp_path)
    for name in ("PLN123_CONFIG", "PLN123_AGENTS", "PLN123_WEB__PORT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_local_file_is_read_by_default(in_folder_with_config: Path) -> None:
    settings = Settings()
    assert settings.queue_max_wait == 120 and settings.web.port == 9123
    agent = settings.agents["cso1"]
    assert (agent.name, agent.interface, agent.queues) == (
        "Dewi Lestari",
        "PJSIP/cso1",
        ["periksa", "umum"],
    )
    assert agent.token.get_secret_value() == "rahasia"
    assert "rahasia" not in repr(settings)


def test_an_empty_config_variable_reads_no_file(
    in_folder_with_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLN123_CONFIG", "")
    assert config_file_path() is None
    settings = Settings()
    assert settings.agents == {} and settings.web.port == 8123


def test_a_named_config_file_must_exist(
    in_folder_with_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLN123_CONFIG", str(in_folder_with_config / "nope.toml"))
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        Settings()


def test_agents_from_the_environment(
    in_folder_with_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLN123_CONFIG", "")
    monkeypatch.setenv("PLN123_AGENTS", '{"cso2": {"name": "Rudi", "token": "t"}}')
    assert list(Settings().agents) == ["cso2"]
