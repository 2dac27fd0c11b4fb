"""The call-back offer (flows/panggilan_balik.yaml) on the ways the scenarios don't take."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from ivr.tools.scenario.model import Scenario
from tests.support import run_in_simulator


def callbacks(tmp_path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(tmp_path / "calls.sqlite3") as db:
        rows = db.execute("SELECT number, queue, state FROM callbacks ORDER BY id")
        return [(str(n), str(q), str(s)) for n, q, s in rows]


async def test_waiting_on_goes_back_to_the_same_queue(tmp_path: Path) -> None:
    scenario = Scenario(
        name="tetap menunggu",
        flow="panggilan_balik",
        caller="081234567890",
        args=["periksa", "pop1"],
        answers={"callback_choice": "tunggu"},
    )
    result = await run_in_simulator(scenario, tmp_path)
    assert result.summary is not None
    assert (result.summary.outcome, result.summary.queue) == ("queued", "periksa")
    assert callbacks(tmp_path) == []


async def test_silence_goes_back_to_the_queue_too(tmp_path: Path) -> None:
    scenario = Scenario(
        name="diam", flow="panggilan_balik", args=["status", ""], caller="0215551234"
    )
    result = await run_in_simulator(scenario, tmp_path)
    assert result.summary is not None
    assert (result.summary.outcome, result.summary.queue) == ("queued", "status")


async def test_a_withheld_number_is_asked_for(tmp_path: Path) -> None:
    scenario = Scenario(
        name="nomor tersembunyi",
        flow="panggilan_balik",
        caller="",
        args=["umum", ""],
        answers={"callback_choice": "nomor_ini", "callback_number": "0215551234"},
    )
    result = await run_in_simulator(scenario, tmp_path)
    assert result.summary is not None and result.summary.outcome == "closed"
    assert result.summary.asks == ["callback_choice", "callback_number"]
    assert callbacks(tmp_path) == [("0215551234", "umum", "open")]


async def test_no_task_list_sends_the_caller_back_to_the_queue(tmp_path: Path) -> None:
    scenario = Scenario(
        name="daftar tugas tidak tersedia",
        flow="panggilan_balik",
        caller="081234567890",
        args=["periksa", ""],
        answers={"callback_choice": "nomor_ini"},
    )
    result = await run_in_simulator(
        scenario, tmp_path, lambda backends: replace(backends, callbacks=None)
    )
    assert result.summary is not None
    assert (result.summary.outcome, result.summary.queue) == ("queued", "periksa")
