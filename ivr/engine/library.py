"""The set of flows a server runs, loaded and checked as one, reloadable.

A reload that finds any problem is refused as a whole, with every problem logged
by file and line; the server keeps the last good set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from ivr.engine.kit import FlowKit
from ivr.engine.loader import FlowError, FlowProblem, LoadedFlow, load_data_file, load_flow_file
from ivr.engine.validate import check_flows, entry_problem
from ivr.language.grammars import InputGrammar
from ivr.prompts.catalogue import CatalogueError, PromptCatalogue

log = logging.getLogger(__name__)


#: Folder of a flows folder holding the data tables actions read (``flows/data``).
DATA_FOLDER = "data"


@dataclass(frozen=True)
class FlowLibrary:
    """Flows by name, the prompt catalogue they speak from, the data tables
    (``flows/data/<name>.yaml``, validated) their actions read, and the kit (node
    kinds, actions) they were checked against and run with."""

    flows: dict[str, LoadedFlow]
    catalogue: PromptCatalogue
    kit: FlowKit
    tables: Mapping[str, BaseModel] = field(default_factory=dict)

    def entry_problem(self, name: str) -> str | None:
        """Why a call may not start in flow ``name`` (None: it may): no such flow, or a
        subflow only (:attr:`~ivr.engine.model.Flow.subflow_only`)."""
        return entry_problem(self.flows, name)

    def input_grammars(self) -> list[InputGrammar]:
        """Every input's speech grammar, once each (for the check of the speech model's
        vocabulary at start-up)."""
        found: dict[tuple[str, ...], InputGrammar] = {}
        for loaded in self.flows.values():
            flow = loaded.flow
            for node in flow.nodes.values():
                for grammar in flow.kind_of(node).grammars(node, flow):
                    found.setdefault(grammar.phrases, grammar)
        return list(found.values())


def flow_files(flows_dir: Path) -> list[Path]:
    """The flow files of a folder, in name order."""
    return sorted(flows_dir.glob("*.yaml"))


def load_tables(
    data_dir: Path, models: Mapping[str, type[BaseModel]]
) -> tuple[dict[str, BaseModel], list[FlowProblem]]:
    """Each ``data_dir/<name>.yaml`` validated as ``models[name]``, and the problems."""
    tables: dict[str, BaseModel] = {}
    problems: list[FlowProblem] = []
    for file in sorted(data_dir.glob("*.yaml")):
        model = models.get(file.stem)
        if model is None:
            known = ", ".join(sorted(models)) or "none"
            problems.append(FlowProblem(file, None, f"unknown data table; known: {known}"))
            continue
        try:
            tables[file.stem] = load_data_file(file, model)
        except FlowError as exc:
            problems.extend(exc.problems)
    return tables, problems


def load_library(flows_dir: Path, audio_dir: Path, kit: FlowKit) -> FlowLibrary:
    """Every flow of ``flows_dir`` and its data tables, checked against ``kit`` (node
    kinds, actions, table models); :class:`FlowError` lists all problems."""
    tables, problems = load_tables(flows_dir / DATA_FOLDER, kit.table_models)
    try:
        catalogue = PromptCatalogue.load(audio_dir)
    except CatalogueError as exc:
        raise FlowError([FlowProblem(audio_dir, None, str(exc))]) from exc
    files = flow_files(flows_dir)
    if not files:
        raise FlowError([FlowProblem(flows_dir, None, "no flow files (*.yaml) here")])
    flows: dict[str, LoadedFlow] = {}
    for file in files:
        try:
            loaded = load_flow_file(file, kit.kinds)
        except FlowError as exc:
            problems.extend(exc.problems)
            continue
        flows[loaded.flow.flow] = loaded
    problems.extend(check_flows(flows, catalogue.exists, kit.actions))
    if problems:
        raise FlowError(problems)
    return FlowLibrary(flows, catalogue, kit, tables)


class LibraryHolder:
    """The library in use; :meth:`reload` swaps it only for a valid one."""

    def __init__(self, flows_dir: Path, audio_dir: Path, kit: FlowKit) -> None:
        self._flows_dir = flows_dir
        self._audio_dir = audio_dir
        self._kit = kit
        self.current = load_library(flows_dir, audio_dir, kit)

    def reload(self) -> bool:
        """Load the flows again; on any problem keep the last good set. True if swapped."""
        try:
            library = load_library(self._flows_dir, self._audio_dir, self._kit)
        except FlowError as exc:
            for problem in exc.problems:
                log.error("flow reload refused: %s", problem)
            log.error(
                "still serving the last good flows (%s)", ", ".join(sorted(self.current.flows))
            )
            return False
        self.current = library
        log.info("flows reloaded: %s", ", ".join(sorted(library.flows)))
        return True
