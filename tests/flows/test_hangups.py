"""A hangup at any input of the SOP flows (PERIKSA, PLN Mobile, tambah daya) leaves a
record with every answer given so far, outcome ``hangup``, and nothing logged as an
error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ivr.tools.scenario.model import Expect, load_scenario
from tests.support import REPO, run_in_simulator

SCENARIOS = REPO / "tests" / "scenarios"
#: Scenarios that together pass every input node of the PERIKSA, PLN Mobile and
#: tambah daya flows.
WALKS = [
    "periksa_dipandu_lengkap",
    "periksa_padam_layar_gelap",
    "periksa_mcb_tidak_dipandu_konfirmasi",
    "periksa_tanpa_idpel_padam",
    "mobile_tiket_belum_selesai_kendala_lain",
    "mobile_tiket_selesai_tiket_baru",
    "mobile_biaya_admin_ovo_lalu_kartu_kredit",
    "mobile_tiket_tidak_ditemukan",
    "tambah_daya_prabayar_terdaftar",
    "tambah_daya_pascabayar_kuasa",
    "tambah_daya_pstn_ulang_registrasi",
]


#: Read-back questions of a collect node (``confirm.ask``).
CONFIRMATIONS = {"target_power_correct"}


def hangup_points() -> list[tuple[str, str, int]]:
    """(scenario, ask tag, how many answers come before it) for every ask of each walk."""
    points = []
    for name in WALKS:
        scenario = load_scenario(SCENARIOS / f"{name}.yaml")
        asks = list(scenario.answers)
        points += [(name, ask, index) for index, ask in enumerate(asks)]
    return points


@pytest.mark.parametrize(
    ("name", "ask", "given"), hangup_points(), ids=[f"{n}-{a}" for n, a, _ in hangup_points()]
)
async def test_hangup_at_any_ask_keeps_the_answers(
    name: str, ask: str, given: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    scenario = scenario.model_copy(update={"hangup_at": ask, "expect": Expect()})
    caplog.set_level(logging.WARNING)
    result = await run_in_simulator(scenario, tmp_path)
    assert result.summary is not None
    assert result.summary.outcome == "hangup"
    stored = [answer["ask"] for answer in result.summary.answers]
    before = list(scenario.answers)[:given]
    if ask in CONFIRMATIONS:
        # Hung up at a read-back: the value keyed is not an answer until confirmed,
        # but the call's record keeps it.
        keyed = before.pop()
        assert result.summary.variables[keyed] == scenario.answers[keyed]
    # every answer before the hang-up point (an ask answered twice counts once here; a
    # read-back's answer is stored just before the value it confirms)
    assert sorted(set(stored)) == sorted(before)
    assert result.summary.asks[-1] == ask
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class BrokenCustomers:
    """Customer data that is down."""

    async def find(self, idpel_or_meter: str) -> None:
        raise ConnectionError("customer database unreachable")


async def test_a_backend_failure_sends_the_caller_to_periksa_with_the_form(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from ivr.backends.guarded import guarded

    scenario = load_scenario(SCENARIOS / "periksa_dipandu_lengkap.yaml")
    scenario = scenario.model_copy(update={"expect": Expect()})
    result = await run_in_simulator(
        scenario,
        tmp_path,
        lambda backends: guarded(replace(backends, customers=BrokenCustomers()), 1.0),
    )
    summary = result.summary
    assert summary is not None
    assert (summary.outcome, summary.queue) == ("queued", "periksa")
    assert summary.path[-2:] == ["periksa/cari_pelanggan", "periksa/gagal_sistem"]
    assert summary.screenpop is not None
    form = summary.screenpop["apkt"]
    assert (form["idpel"], form["wo_type"]) == ("532112345678", "KWH PERIKSA")
    assert form["problem_text"] == "KWH METER TERTERA PERIKSA (SELF DIAGNOSIS)"
    assert [a["ask"] for a in summary.screenpop["answers"]] == [
        "menu",
        "power_state",
        "reported_before",
        "idpel",
    ]


async def test_a_repeat_report_goes_to_status_with_the_report_attached(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "periksa_pernah_lapor.yaml")
    result = await run_in_simulator(scenario, tmp_path)
    assert result.summary is not None and result.summary.screenpop is not None
    assert result.summary.screenpop["queue"] == "status"
    assert result.summary.screenpop["open_report"] == {
        "number": "G2503100000123",
        "status": "LAPOR",
    }
