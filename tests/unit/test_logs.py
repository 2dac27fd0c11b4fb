"""Phone numbers and customer IDs never reach a log line unmasked."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.config import Settings
from ivr.engine.call import open_call
from ivr.engine.interpreter import run_call
from ivr.engine.library import FlowLibrary
from ivr.engine.loader import parse_flow_text
from ivr.engine.model import InputNode
from ivr.kit import KIT
from ivr.logs import (
    JsonFormatter,
    MaskingFilter,
    bind_call,
    bind_node,
    bound_call,
    setup_logging,
)
from ivr.prompts.catalogue import PromptCatalogue, PromptEntry
from ivr.sim.port import SimPort
from ivr.store.calls import CallStore


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler masks, and the text it wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.unit.test_logs")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.handlers.clear()
    logger.propagate = True


def test_mobile_number_in_args(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("call from %s", "081234567890")
    assert stream.getvalue() == "INFO call from *********890\n"


def test_international_number(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("call from %s to %s", "+6281234567890", "6281298765432")
    assert stream.getvalue() == "INFO call from ***********890 to **********432\n"
    assert "62812" not in stream.getvalue()


def test_idpel_in_message_and_args(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.warning("idpel %s (meter 14123456789) not found for %r", "512345678901", "0215551234")
    assert stream.getvalue() == (
        "WARNING idpel *********901 (meter ********789) not found for '*******234'\n"
    )


def test_number_in_a_dict_arg(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("answers %s", {"idpel": "512345678901", "menu": "periksa"})
    assert stream.getvalue() == "INFO answers {'idpel': '*********901', 'menu': 'periksa'}\n"


def test_short_numbers_are_left_alone(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info(
        "menu %s attempt %d of %d, queue %s, port %d, code %s", "1", 2, 3, "123", 4573, "123456"
    )
    assert stream.getvalue() == "INFO menu 1 attempt 2 of 3, queue 123, port 4573, code 123456\n"


def test_record_is_rewritten_only_when_masked() -> None:
    masking = MaskingFilter()
    plain = logging.LogRecord("x", logging.INFO, __file__, 1, "menu %s", ("1",), None)
    assert masking.filter(plain) is True
    assert (plain.msg, plain.args) == ("menu %s", ("1",))
    secret = logging.LogRecord("x", logging.INFO, __file__, 1, "idpel %s", ("512345678901",), None)
    assert masking.filter(secret) is True
    assert secret.msg == "idpel *********901"
    assert secret.args is None
    assert secret.getMessage() == "idpel *********901"


def test_setup_logging_masks(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("debug")
        assert root.level == logging.DEBUG
        logging.getLogger("ivr.test").info("caller %s", "+6281234567890")
        err = capsys.readouterr().err
        assert "caller ***********890" in err
        assert "81234567" not in err
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_exception_text_is_masked(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    try:
        raise LookupError("no customer with idpel 512345678901")
    except LookupError:
        logger.exception("lookup failed for %s", "081234567890")
    text = stream.getvalue()
    assert "lookup failed for *********890" in text
    assert "LookupError: no customer with idpel *********901" in text
    assert "512345678901" not in text


def test_hex_call_ids_stay_readable() -> None:
    import logging

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call %s from %s", None, None)
    record.args = ("a025b1234567488d854fec7dd7170ee0", "081234567890")
    MaskingFilter().filter(record)
    assert record.getMessage() == "call a025b1234567488d854fec7dd7170ee0 from *********890"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # glued to letters
        ("NIK3201011234567890 given", "NIK*************890 given"),
        ("idpel512345678901x", "idpel*********901x"),
        # split numbers: one space or dash between groups
        ("call back 0812-3456-7890.", "call back ***********890."),
        ("call back +62 812 3456 7890", "call back **************890"),
        ("office (021) 555-1234 closed", "office ***********234 closed"),
        ("office (021)555-1234", "office **********234"),
        ("fixed 021-5551234", "fixed ********234"),
        ("wa 62 812-3456-7890", "wa *************890"),
        ("mobile 0812 3456 789", "mobile **********789"),
    ],
)
def test_numbers_in_any_form_are_masked(
    logged: tuple[logging.Logger, io.StringIO], text: str, masked: str
) -> None:
    logger, stream = logged
    logger.info("%s", text)
    assert stream.getvalue() == f"INFO {masked}\n"


@pytest.mark.parametrize(
    "text",
    [
        # Asterisk's uniqueid (to find the call in the CDR), with or without a host prefix
        "failed call 1733412345.42 on PJSIP/trunk",
        "uniqueid=pbx1-1733412345.1234",
        # our call ids: 32 hex characters and dashed UUIDs
        "call a025b1234567488d854fec7dd7170ee0 ended",
        "pop 123e4567-e89b-12d3-a456-426614174000",
        # dates, times, addresses, versions and lists of counts are no numbers to mask
        "at 2026-12-05 13:47:08 until 2026-12-06",
        "from 10.20.30.40 and 192.168.100.200:5038",
        "sizes 1024 2048 4096, code 123456, port 4573",
        "epoch 1733412345.123456",
    ],
)
def test_ids_dates_and_counts_stay_readable(
    logged: tuple[logging.Logger, io.StringIO], text: str
) -> None:
    logger, stream = logged
    logger.info("%s", text)
    assert stream.getvalue() == f"INFO {text}\n"


def test_a_uniqueid_next_to_a_number(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.warning("call %s from %s (NIK%s)", "1733412345.42", "0812-3456-7890", "3201011234567890")
    assert stream.getvalue() == (
        "WARNING call 1733412345.42 from ***********890 (NIK*************890)\n"
    )


def test_mask_text_and_callerid_mask_agree_on_what_stays() -> None:
    from ivr.domain.callerid import mask
    from ivr.logs import mask_text

    assert mask_text("nomor 0812-3456-7890") == "nomor ***********890"
    assert mask("0812-3456-7890") == "*********890"
    assert mask("1733412345.42") == "1733412345.42"
    assert mask("a025b1234567488d854fec7dd7170ee0") == "a025b1234567488d854fec7dd7170ee0"


# -- JSON lines ---------------------------------------------------------------------------


@pytest.fixture
def json_logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the handler ``setup_logging(fmt="json")`` builds."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging("debug", "json")
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    try:
        yield logging.getLogger("ivr.test.json"), stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def entries(stream: io.StringIO) -> list[dict[str, Any]]:
    """The test's records, each line as its JSON object (every line must be one)."""
    objects = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [entry for entry in objects if entry["logger"] == "ivr.test.json"]


def test_json_lines_are_one_object_per_record(
    json_logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_logged
    logger.info("first line\nsecond line of the same record")
    logger.warning("caller %s", "+6281234567890")

    first, second = entries(stream)
    assert first["message"] == "first line\nsecond line of the same record"
    assert first["level"] == "INFO" and second["level"] == "WARNING"
    assert first["logger"] == "ivr.test.json"
    assert second["message"] == "caller ***********890"
    assert "81234567" not in stream.getvalue()
    stamp = datetime.fromisoformat(first["time"])
    assert stamp.utcoffset() == timedelta(0)
    assert first["time"].endswith("Z")
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    assert "exc" not in first and "call_id" not in first


def test_json_exceptions_are_masked(json_logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_logged
    try:
        raise LookupError("no customer with idpel 512345678901")
    except LookupError:
        logger.exception("lookup failed for %s", "081234567890")

    (entry,) = entries(stream)
    assert entry["level"] == "ERROR"
    assert entry["message"] == "lookup failed for *********890"
    assert entry["exc"].startswith("Traceback")
    assert "LookupError: no customer with idpel *********901" in entry["exc"]
    assert "512345678901" not in stream.getvalue()


async def test_json_lines_name_the_call_and_node_of_their_own_task(
    json_logged: tuple[logging.Logger, io.StringIO],
) -> None:
    """Two calls interleaved on one loop: each record carries its own task's binding."""
    logger, stream = json_logged
    a_bound, b_bound = asyncio.Event(), asyncio.Event()

    async def call_a() -> None:
        bind_call("call-a", "main")
        a_bound.set()
        await b_bound.wait()  # b has bound its call since
        logger.info("a at start")
        bind_node("main", "menu")
        logger.info("a in menu")

    async def call_b() -> None:
        await a_bound.wait()
        bind_call("call-b", "lapor")
        bind_node("sub_idpel", "ask_idpel")
        b_bound.set()
        logger.info("b in subflow")

    await asyncio.gather(asyncio.create_task(call_a()), asyncio.create_task(call_b()))
    logger.info("outside any call")

    where = {
        e["message"]: (e.get("call_id"), e.get("flow"), e.get("node")) for e in entries(stream)
    }
    assert where == {
        "b in subflow": ("call-b", "sub_idpel", "ask_idpel"),
        "a at start": ("call-a", "main", ""),
        "a in menu": ("call-a", "main", "menu"),
        "outside any call": (None, None, None),
    }
    assert bound_call() == ("", "", "")


def test_a_record_can_name_its_call_itself(
    json_logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_logged
    logger.info("queued", extra={"call_id": "c1", "flow": "main", "node": "cso"})
    (entry,) = entries(stream)
    assert (entry["call_id"], entry["flow"], entry["node"]) == ("c1", "main", "cso")


def test_text_stays_the_default_and_unknown_formats_are_refused() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("info")
        assert not isinstance(root.handlers[0].formatter, JsonFormatter)
        with pytest.raises(ValueError, match="unknown log format"):
            setup_logging("info", "xml")  # type: ignore[arg-type]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


FLOW = """\
    flow: main
    start: hello
    nodes:
      hello: {kind: play, prompt: [p_hello], next: menu}
      menu:
        kind: menu
        ask: menu
        prompt: [p_menu]
        choices:
          1: {value: satu, next: bye}
      bye: {kind: hangup, prompt: [p_bye]}
"""


async def test_the_interpreter_binds_the_call_and_each_node(
    json_logged: tuple[logging.Logger, io.StringIO], tmp_path: Path
) -> None:
    logger, stream = json_logged
    loaded = parse_flow_text(textwrap.dedent(FLOW), Path("main.yaml"), KIT.kinds)
    prompts = ["p_hello", "p_menu", "p_bye"]
    catalogue = PromptCatalogue({p: PromptEntry(p, p.upper(), None) for p in prompts})
    library = FlowLibrary({"main": loaded}, catalogue, KIT)

    async def caller(flow: str, node: InputNode, ask: str, attempt: int) -> str:
        logger.info("caller asked for %s", ask)
        return "1"

    settings = Settings(db_path=tmp_path / "calls.sqlite3")
    store = CallStore(settings.db_path)
    try:
        ctx = await open_call(
            settings, library, store, SimPort(caller), "main", "081234567890", call_id="c42"
        )
        await asyncio.create_task(run_call(ctx))
    finally:
        store.close()

    (entry,) = entries(stream)
    assert entry["message"] == "caller asked for menu"
    assert (entry["call_id"], entry["flow"], entry["node"]) == ("c42", "main", "menu")
