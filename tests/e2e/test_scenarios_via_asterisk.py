"""Every scenario under tests/scenarios/, as a real call through the sandbox Asterisk."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.engine.library import load_library
from ivr.kit import KIT
from ivr.tools.sandbox import AsteriskSandbox
from ivr.tools.scenario.model import load_scenario
from ivr.tools.scenario.via_asterisk import run_scenarios_asterisk
from tests.support import IvrProcess

SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.yaml"))

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("file", SCENARIOS, ids=[f.stem for f in SCENARIOS])
async def test_scenario_as_a_real_call(
    file: Path, ivr_server: IvrProcess, e2e_settings: Settings
) -> None:
    library = load_library(e2e_settings.flows_dir, e2e_settings.audio_dir, KIT)
    [result] = await run_scenarios_asterisk([load_scenario(file)], e2e_settings, library, 90.0)
    assert result.summary is not None, result.problems
    assert result.problems == [], "".join(ivr_server.log[-40:])


async def test_a_known_callers_name_is_spoken_at_run_time(
    ivr_server: IvrProcess, e2e_settings: Settings, asterisk: AsteriskSandbox
) -> None:
    """The greeting "Selamat datang kembali, Bapak Budi Santoso" is rendered by TTS while
    the call runs, into the sandbox's sounds, and Asterisk plays it (a sound it could
    not find would fail the command and send the call to the fallback queue)."""
    library = load_library(e2e_settings.flows_dir, e2e_settings.audio_dir, KIT)
    scenario = load_scenario(Path(__file__).parents[1] / "scenarios" / "menu_status_ke_cso.yaml")
    [result] = await run_scenarios_asterisk([scenario], e2e_settings, library, 90.0)
    assert result.problems == [], "".join(ivr_server.log[-40:])
    spoken = list((asterisk.sounds_dir / "dynamic").glob("*.wav"))
    assert spoken, "no run-time prompt was rendered"
    assert all(path.stat().st_size > 8000 for path in spoken)
