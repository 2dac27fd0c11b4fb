"""The systemd units in deploy/systemd: they run a real CLI command, restart it, keep it
unprivileged and hardened, and check its health on a route the web server has."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from ivr.cli.main import cli
from ivr.config import AgiSettings, Settings, WebSettings
from ivr.workers import health_check

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    assert parser.read(UNITS / name, encoding="utf-8") == [str(UNITS / name)]
    return parser


@pytest.fixture(scope="module")
def service() -> configparser.SectionProxy:
    return unit("pln123.service")["Service"]


def test_exec_start_is_the_serve_command_of_the_cli(service: configparser.SectionProxy) -> None:
    program, *args = shlex.split(service["ExecStart"])
    assert Path(program).name == "pln123"
    assert Path(program).parent.name == "bin"
    assert program.startswith(service["WorkingDirectory"] + "/")  # the checkout's venv
    assert args[:2] == ["serve", "--workers"] and int(args[2]) >= 2
    assert args[0] in cli.commands  # type: ignore[attr-defined]
    serve = cli.commands["serve"]  # type: ignore[attr-defined]
    assert "--workers" in [opt for param in serve.params for opt in param.opts]


def test_it_restarts_and_stops_after_the_shutdown_grace(
    service: configparser.SectionProxy,
) -> None:
    assert service["Restart"] == "always"
    assert float(service["RestartSec"]) > 0
    assert service["ExecReload"].endswith("kill -HUP $MAINPID")  # SIGHUP reloads flows
    assert service["KillSignal"] == "SIGTERM"
    assert float(service["TimeoutStopSec"]) > AgiSettings().shutdown_grace
    assert int(service["LimitNOFILE"]) > AgiSettings().max_connections
    assert unit("pln123.service")["Install"]["WantedBy"] == "multi-user.target"


def test_it_runs_unprivileged_with_secrets_from_an_environment_file(
    service: configparser.SectionProxy,
) -> None:
    assert service["User"] not in ("", "root", "0")
    assert service["Group"] not in ("", "root", "0")
    assert service["EnvironmentFile"] == "/etc/pln123/env"
    assert Path(service["WorkingDirectory"]).is_absolute()


def test_it_is_hardened_and_may_write_only_the_store(
    service: configparser.SectionProxy,
) -> None:
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[key] == value, key
    writable = [Path(p) for p in service["ReadWritePaths"].split()]
    store = Path(service["WorkingDirectory"]) / Settings.model_fields["db_path"].default
    assert any(store.is_relative_to(path) for path in writable), (store, writable)


def test_the_health_check_calls_healthz_and_restarts_the_service() -> None:
    timer = unit("pln123-health.timer")
    assert float(timer["Timer"]["OnUnitActiveSec"]) > 0
    assert timer["Install"]["WantedBy"] == "timers.target"
    check = unit("pln123-health.service")
    assert check["Service"]["Type"] == "oneshot"
    program, *args = shlex.split(check["Service"]["ExecStart"])
    assert program == unit("pln123.service")["Service"]["WorkingDirectory"] + "/.venv/bin/python"
    assert args[:2] == ["-m", health_check.__name__]  # restarts the service (its tests)
    url = f"http://{WebSettings().host}:{WebSettings().port}/healthz"
    assert args[2:] == [url] and url == health_check.URL
    assert health_check.SERVICE == "pln123.service"
    assert '"/healthz"' in (REPO / "ivr" / "web" / "server.py").read_text()
    assert "pln123-health.timer" in unit("pln123.service")["Unit"]["Wants"]
