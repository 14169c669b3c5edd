"""`pixelscleared scrub`: the same engine and config as the proxy, one JSON object on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "pixelscleared"


def run(*args: str, stdin: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    p = subprocess.run([str(BIN), "scrub", *args], input=data, capture_output=True, timeout=60, check=False)
    return subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode(), p.stderr.decode())


def test_url() -> None:
    p = run("--url", "https://shop.example/thanks?order_id=1001&email=jane%40example.com")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {
        "result": "https://shop.example/thanks?order_id=1001",
        "removed": [{"path": "url.query.email", "kind": "email"}],
    }
    assert p.stdout.count("\n") == 1  # exactly one JSON object


def test_json_from_stdin_and_file(tmp_path: Path) -> None:
    body = {"properties": {"note": "call +44 20 7946 0958", "value": 1, "email": "a@b.co"}}
    for args, stdin in ((["--json", "-"], json.dumps(body)), (["--json", str(tmp_path / "b.json")], None)):
        (tmp_path / "b.json").write_text(json.dumps(body))
        p = run(*args, stdin=stdin)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == {
            "result": {"properties": {"note": "call [phone]", "value": 1}},
            "removed": [{"path": "properties.note", "kind": "phone"}, {"path": "properties.email", "kind": "email"}],
        }


def test_form(tmp_path: Path) -> None:
    f = tmp_path / "form.txt"
    f.write_text("name=Jane+Doe&qty=2&email=jane%40example.com\n")
    p = run("--form", str(f))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["result"] == "qty=2"
    assert out["removed"] == [{"path": "form.name", "kind": "name"}, {"path": "form.email", "kind": "email"}]


def test_uses_the_scrub_section_of_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("upstream: http://127.0.0.1:9\nscrub:\n  drop_keys: [coupon]\n  patterns:\n    loyalty: 'LOY-\\d{4}'\n")
    p = run("-c", str(cfg), "--json", "-", stdin='{"coupon": "X", "note": "card LOY-1234"}')
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {
        "result": {"note": "card [loyalty]"},
        "removed": [{"path": "coupon", "kind": "configured"}, {"path": "note", "kind": "loyalty"}],
    }


@pytest.mark.parametrize("token, code", [
    ("${TIKTOK_ACCESS_TOKEN}", 0),  # unset, and only scrub: is used: fine
    ("${TIKTOK_ACCESS_TOKEN:-}", 2),  # set to empty is still a config error, as for the proxy
])
def test_config_with_an_unset_token_var(tmp_path: Path, token: str, code: int) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("upstream: http://127.0.0.1:9\ndestinations:\n  tiktok:\n"
                   f"    - {{pixel_id: CK1, access_token: '{token}', events: [PageView]}}\n"
                   "scrub: {drop_keys: [coupon]}\n")
    env = {k: v for k, v in os.environ.items() if k != "TIKTOK_ACCESS_TOKEN"}
    p = subprocess.run([str(BIN), "scrub", "-c", str(cfg), "--json", "-"], input='{"coupon": "X", "value": 1}',
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == code, p.stderr
    if code == 0:
        assert json.loads(p.stdout) == {"result": {"value": 1}, "removed": [{"path": "coupon", "kind": "configured"}]}
    else:
        assert "destinations.tiktok[0].access_token: must not be empty" in p.stderr


def test_config_error_exits_2_with_problems_on_stderr(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("upstream: http://127.0.0.1:9\nscrub:\n  patterns: {x: '('}\n  nope: 1\n")
    p = run("-c", str(cfg), "--url", "https://x.example/")
    assert p.returncode == 2
    assert p.stdout == ""
    assert "scrub.patterns" in p.stderr and "scrub.nope: unknown key" in p.stderr


@pytest.mark.parametrize("args,stdin,code,message", [
    (["--json", "-"], "{not json", 2, "not JSON"),
    (["--json", "-"], b"\xff\xfe", 2, "not UTF-8"),
    (["--json", "/nonexistent/file.json"], None, 2,
     "--json: no such file '/nonexistent/file.json' (give a file path, or - to read standard input)"),
    (["--form", "/nonexistent/body.txt"], None, 2,
     "--form: no such file '/nonexistent/body.txt' (give a file path, or - to read standard input)"),
    (["--json", '{"email": "jane@example.com"}'], None, 2,  # the body typed in place of a path: not echoed
     "--json: takes a file, and this looks like the body itself (give a file path, or - to read standard input)"),
    (["--form", "email=jane%40example.com&a=1"], None, 2,
     "--form: takes a file, and this looks like the body itself (give a file path, or - to read standard input)"),
    (["--json", "/"], None, 2, "--json: cannot read '/': Is a directory"),
    (["--url", "http://[::1/jane@example.com"], None, 1, "would drop"),
    (["--json", "-"], "[" * 50_000 + "]" * 50_000, 1, "deep"),
])
def test_bad_input_is_a_clear_error(args: list[str], stdin: str | bytes | None, code: int, message: str) -> None:
    p = run(*args, stdin=stdin)
    assert p.returncode == code
    assert message in p.stderr
    assert "Traceback" not in p.stderr
    assert "jane" not in p.stderr


def test_help_says_file_or_stdin() -> None:
    p = subprocess.run([str(BIN), "scrub", "--help"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "COLUMNS": "200"})
    assert p.returncode == 0
    for option in ("--json FILE", "--form FILE"):
        [line] = [ln for ln in p.stdout.splitlines() if ln.strip().startswith(option)]
        assert line.endswith("FILE or - for standard input")


def test_one_source_is_required() -> None:
    p = run()
    assert p.returncode == 2
    assert "one of the arguments --url --json --form is required" in p.stderr
