"""Fixtures of the fault suite: the flows loaded once, a seeded store to copy."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ivr.app import IvrApp
from ivr.config import Settings
from ivr.engine.library import FlowLibrary, load_library
from ivr.kit import KIT
from tests.fault.harness import (
    HEADER_TIMEOUT,
    HOST,
    SeededTemplate,
    Served,
    SharedLibrary,
    open_bench,
)
from tests.support import REPO


@pytest.fixture(scope="session")
def library() -> FlowLibrary:
    """The repo's flows and prompts, as every simulated call here runs them."""
    return load_library(REPO / "flows", REPO / "audio", KIT)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> SeededTemplate:
    """The demo data in a store file, seeded once for the session."""
    return SeededTemplate(tmp_path_factory.mktemp("fault-template"))


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A folder for store copies, in memory when the machine has ``/dev/shm``: closing a
    store checkpoints and syncs its file, which on a disk costs more than the call."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="pln123-fault-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def served(
    library: FlowLibrary, template: SeededTemplate, scratch: Path
) -> AsyncIterator[Served]:
    """The IVR app (flows, a seeded store, the embedded backends) on a FastAGI port."""
    with open_bench(template.fresh(scratch)) as bench:
        settings = Settings(
            db_path=bench.settings.db_path,
            agi={"host": HOST, "port": 0, "header_timeout": HEADER_TIMEOUT},  # type: ignore[arg-type]
        )
        app = IvrApp(settings, SharedLibrary(library), bench.store, bench.backends())
        await app.server.start()
        try:
            yield Served(app, bench)
        finally:
            await app.server.shutdown(1.0)
