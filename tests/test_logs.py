from __future__ import annotations

import asyncio
import json
import logging

import pytest

from pixelscleared import logs


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._secrets.clear()


def test_json_lines_when_not_a_tty_and_secrets_redacted(capsys):
    logs.configure("info", "auto")  # pytest's stdout is not a TTY
    logs.register_secrets(["tok-SECRET-123456", "short"])
    logging.getLogger("mitmproxy.something").warning("upstream said tok-SECRET-123456 is bad")
    logs.get_logger("pixelscleared.test").info("sending", token="tok-SECRET-123456", n=3)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "upstream said [redacted] is bad"
    assert lines[0]["level"] == "warning" and lines[0]["logger"] == "mitmproxy.something"
    assert lines[1]["token"] == "[redacted]" and lines[1]["n"] == 3
    assert "SECRET" not in json.dumps(lines)


def test_console_format_is_readable(capsys):
    logs.configure("info", "console")
    logs.get_logger("x").info("hello", pixel="CK1")
    out = capsys.readouterr().out
    assert "hello" in out and "pixel=CK1" in out and not out.startswith("{")


def test_level_filters(capsys):
    logs.configure("warning", "json")
    logging.getLogger("y").info("quiet")
    logging.getLogger("y").error("loud")
    out = capsys.readouterr().out
    assert "loud" in out and "quiet" not in out


@pytest.mark.parametrize("exc, kept", [
    (asyncio.CancelledError(), False),  # Python 3.12.1 reports one per open connection at shutdown
    (RuntimeError("a real asyncio problem"), True),
    (None, True),
])
def test_asyncio_cancellations_at_shutdown_are_not_errors(exc, kept):
    logs.configure("info", "json")
    record = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "Exception in callback", None,
                               (type(exc), exc, None) if exc is not None else None)
    assert bool(logging.getLogger("asyncio").filter(record)) is kept


def test_stdlib_calls_carry_fields_as_keys_and_secrets_stay_redacted(capsys):
    logs.configure("info", "json")
    logs.register_secrets(["tok-SECRET-123456"])
    logging.getLogger("pixelscleared.deliver").warning(
        "tiktok answer changed", extra={"pixel_id": "CK1", "code": 40105, "tiktok_message": "token tok-SECRET-123456",
                                        **logs.NOT_FATAL})
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["event"] == "tiktok answer changed" and line["pixel_id"] == "CK1" and line["code"] == 40105
    assert line["tiktok_message"] == "token [redacted]"
    assert "pixelscleared_one_flow" not in line  # internal markers are not fields

