"""Reading flow files, with file and line in every error.

PyYAML's composer keeps the position of every node; we turn that tree into plain
Python data while noting where each path (``nodes.menu.choices.1.next``) was written,
so a pydantic error's location becomes ``flows/main.yaml:42``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ivr.engine.kinds import KindTable
from ivr.engine.model import Flow, flow_schema

Path_ = tuple[str, ...]
MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class FlowProblem:
    """One thing wrong with a flow, where it is, in words an ops person can act on."""

    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message}"


class FlowError(Exception):
    """A flow file that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass
class SourceMap:
    """Where each path of a flow file was written (1-based lines)."""

    file: Path
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, or of its closest parent that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


@dataclass(frozen=True)
class LoadedFlow:
    """A valid flow with the map of where its parts are written."""

    flow: Flow
    source: SourceMap


def _to_data(node: yaml.Node, path: Path_, source: SourceMap, problems: list[FlowProblem]) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                # `<<: *anchor` (or a list of them): keys written here win.
                merged.extend(
                    _to_data(v, path, source, problems)
                    for v in (
                        value_node.value
                        if isinstance(value_node, yaml.SequenceNode)
                        else [value_node]
                    )
                )
                continue
            key = str(_checked_scalar(key_node, source, problems))
            if key in result:
                problems.append(
                    FlowProblem(source.file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
                )
            child = (*path, key)
            source.lines[child] = key_node.start_mark.line + 1
            result[key] = _to_data(value_node, child, source, problems)
        for extra in merged:
            if isinstance(extra, dict):
                for key, value in extra.items():
                    result.setdefault(key, value)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_data(item, (*path, str(index)), source, problems)
            for index, item in enumerate(node.value)
        ]
    return _checked_scalar(node, source, problems)


def _checked_scalar(node: yaml.Node, source: SourceMap, problems: list[FlowProblem]) -> Any:
    """A scalar, or its text and a problem at its line when YAML cannot build it (an
    impossible date such as ``2026-02-30`` raises inside the YAML library)."""
    try:
        return _scalar(node)
    except (ValueError, OverflowError, yaml.YAMLError) as exc:
        problems.append(
            FlowProblem(
                source.file,
                node.start_mark.line + 1,
                f"{node.value!r} is not a valid value ({exc}); quote it if it is text",
            )
        )
        return str(node.value)


def _scalar(node: yaml.Node) -> Any:
    """A scalar as YAML's safe loader would build it (ints, bools, null, strings)."""
    if not isinstance(node, yaml.ScalarNode):
        return str(node.value)
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _pydantic_problems(
    exc: ValidationError, source: SourceMap, kinds: KindTable | None = None
) -> list[FlowProblem]:
    names = set(kinds or ())
    problems = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        # The discriminated union puts the node kind after the node id; drop it.
        clean = loc
        if len(loc) > 2 and loc[0] == "nodes" and loc[2] in names:
            clean = loc[:2] + loc[3:]
        where = ".".join(clean) or "(top)"
        message = error["msg"]
        if error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "extra_forbidden":
            message = "unknown field (a typo?)"
        elif error["type"] == "union_tag_invalid":
            message = f"unknown node kind; use one of: {', '.join(sorted(names))}"
        elif error["type"] == "union_tag_not_found":
            message = "node has no 'kind:'"
        problems.append(FlowProblem(source.file, source.line_of(clean), f"{where}: {message}"))
    return problems


def _compose(text: str, source: SourceMap) -> tuple[Any, list[FlowProblem]]:
    """YAML text as plain data, its positions noted in ``source``, and the problems
    found on the way (duplicate keys); :class:`FlowError` when it is no YAML at all."""
    file = source.file
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise FlowError([FlowProblem(file, line, f"not valid YAML: {reason}")]) from exc
    if tree is None:
        raise FlowError([FlowProblem(file, None, "the file is empty")])
    problems: list[FlowProblem] = []
    data = _to_data(tree, (), source, problems)
    return data, problems


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError([FlowProblem(file, None, f"cannot read: {exc}")]) from exc


def parse_flow_text(text: str, file: Path, kinds: KindTable) -> LoadedFlow:
    """A flow from YAML text, its nodes read as ``kinds``; :class:`FlowError` with file
    and line when it is not one."""
    source = SourceMap(file)
    data, problems = _compose(text, source)
    if not isinstance(data, dict):
        raise FlowError(
            [FlowProblem(file, 1, "a flow file must be a mapping (flow:, start:, nodes:)")]
        )
    data.setdefault("flow", file.stem)
    try:
        flow = flow_schema(kinds).model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, source, kinds))
    if problems:
        raise FlowError(problems)
    if flow.flow != file.stem:
        raise FlowError(
            [
                FlowProblem(
                    file,
                    source.line_of(("flow",)),
                    f"flow: {flow.flow!r} must match the file name {file.stem!r}",
                )
            ]
        )
    return LoadedFlow(flow, source)


ModelT = TypeVar("ModelT", bound=BaseModel)


def load_data_file(file: Path, model: type[ModelT]) -> ModelT:
    """An ops-edited data file (``flows/data/*.yaml``) validated as ``model``;
    :class:`FlowError` with file and line when it does not fit."""
    source = SourceMap(file)
    data, problems = _compose(_read(file), source)
    if problems:
        raise FlowError(problems)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FlowError(_pydantic_problems(exc, source)) from exc


def load_flow_file(file: Path, kinds: KindTable) -> LoadedFlow:
    """A flow from one file, its nodes read as ``kinds``."""
    return parse_flow_text(_read(file), file, kinds)
