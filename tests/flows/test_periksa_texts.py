"""The PERIKSA flow files its reports with the SOP's exact texts (``ivr/domain/periksa.py``,
checked word for word against the SOP), so an edit of one cannot drift from the other."""

from __future__ import annotations

from ivr.domain.periksa import (
    PROBLEM_BLANK_DISPLAY,
    PROBLEM_GUIDED,
    PROBLEM_NO_IDPEL,
    PROBLEM_NOT_GUIDED,
    WO_AUTODISPATCH,
    WO_KWH_PERIKSA,
)
from ivr.engine.loader import load_flow_file
from ivr.steps.action import ActionNode
from ivr.steps.registry import KINDS
from tests.support import REPO


def test_the_flow_sets_each_sop_report_with_its_wo_type() -> None:
    flow = load_flow_file(REPO / "flows" / "periksa.yaml", KINDS).flow
    reports = {
        (node.args["problem_text"], node.args["wo_type"])
        for node in flow.nodes.values()
        if isinstance(node, ActionNode) and node.action == "set" and "problem_text" in node.args
    }
    assert reports == {
        (PROBLEM_GUIDED, WO_KWH_PERIKSA),
        (PROBLEM_BLANK_DISPLAY, WO_AUTODISPATCH),
        (PROBLEM_NOT_GUIDED, WO_AUTODISPATCH),
        (PROBLEM_NO_IDPEL, WO_AUTODISPATCH),
    }
