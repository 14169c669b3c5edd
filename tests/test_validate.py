"""`pixelscleared validate`: the green/red credential check, against the project's TikTok stand-in."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import BIN, sidecar_config, wait_for
from pixelscleared.config import parse_config
from pixelscleared.deliver import credential_problem
from pixelscleared.fake_tiktok import start_fake_tiktok
from pixelscleared.validate import CHECK_EVENT, check_all, render

PIXEL, TOKEN = "CKTESTPIXEL000000001", "test-token-abcdef"
OTHER, OTHER_TOKEN = "CKOTHERPIXEL00000002", "other-token-123456"


@pytest.fixture
async def fake():
    server = await start_fake_tiktok({PIXEL: TOKEN, OTHER: OTHER_TOKEN})
    yield server
    await server.close()


def pixels(api_base: str, *entries: dict[str, Any]):
    return parse_config({"upstream": "http://127.0.0.1:1", "destinations": {"tiktok": [
        {"events": ["PageView"], "api_base": api_base, **e} for e in entries]}}, env={}).destinations.tiktok


@pytest.mark.parametrize("pixel_id, token, ok, code, advice", [
    (PIXEL, TOKEN, True, 0, ""),
    (PIXEL, "wrong-token-000000", False, 40105, "the access token is wrong or was revoked"),
    (PIXEL, OTHER_TOKEN, False, 40001, "this token may not send events to this pixel"),
    ("CKUNKNOWN00000000003", TOKEN, False, 40001, "this token may not send events to this pixel"),
])
async def test_each_pixel_gets_tiktoks_answer(fake, pixel_id, token, ok, code, advice):
    [check] = await check_all(pixels(fake.url, {"pixel_id": pixel_id, "access_token": token}))
    assert (check.ok, check.code) == (ok, code)
    assert check.advice.startswith(advice)
    assert token not in json.dumps(check.as_dict()) and token not in render(check)
    [request] = fake.requests
    assert request["code"] == code


async def test_a_test_code_keeps_the_check_out_of_live_data(fake):
    [with_code, live] = await check_all(pixels(fake.url, {"pixel_id": PIXEL, "access_token": TOKEN,
                                                          "test_event_code": "TEST123"},
                                               {"pixel_id": OTHER, "access_token": OTHER_TOKEN}))
    assert with_code.ok and live.ok
    sent = {e["pixel_id"]: e for e in fake.events}
    assert (sent[PIXEL]["test_event_code"], sent[PIXEL]["event"]) == ("TEST123", "Pageview")
    assert (sent[OTHER]["test_event_code"], sent[OTHER]["event"], sent[OTHER]["standard"]) == (None, CHECK_EVENT, False)
    assert all(e["warnings"] == [] for e in fake.events)  # what we send is what TikTok documents


async def test_no_answer_says_so(unused_tcp_port):
    [check] = await check_all(pixels(f"http://127.0.0.1:{unused_tcp_port}", {"pixel_id": PIXEL, "access_token": TOKEN}),
                              timeout_s=5)
    assert not check.ok and check.code is None
    assert check.message.startswith("no TikTok answer (") and "check the network path" in check.advice


def validate(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pixelscleared"), "validate", "-c", str(config), *args], capture_output=True,
                          text=True, timeout=60)


def write(tmp_path: Path, fake_url: str, *entries: dict[str, Any]) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"upstream": "http://127.0.0.1:1", "destinations": {"tiktok": [
        {"events": ["PageView"], "api_base": fake_url, **e} for e in entries]}}))
    return config


async def test_the_command_green_and_red(fake, tmp_path):
    config = write(tmp_path, fake.url, {"pixel_id": PIXEL, "access_token": TOKEN},
                   {"pixel_id": OTHER, "access_token": "revoked-token-12345"})
    r = await asyncio.to_thread(validate, config)
    assert r.returncode == 1, r.stderr
    assert f"✔ {PIXEL}: TikTok accepted the token (live: one custom event)" in r.stdout
    assert f"✘ {OTHER}: code 40105: Access token is incorrect or has been revoked." in r.stdout
    assert "→ the access token is wrong or was revoked" in r.stdout
    assert "\033[" not in r.stdout  # colours only on a terminal
    r = await asyncio.to_thread(validate, config, "--pixel", PIXEL, "--json")
    assert r.returncode == 0
    [doc] = [json.loads(line) for line in r.stdout.splitlines()]
    assert (doc["pixel_id"], doc["ok"], doc["code"]) == (PIXEL, True, 0)


@pytest.mark.parametrize("token, problem", [
    ("test-token-abcdef\n", "has a line break at the end (copied with it?): remove it"),
    (" test-token-abcdef", "has a space at the start (copied with it?): remove it"),
    ('"test-token-abcdef"', "is wrapped in quotes, which are not part of it: remove them"),
    ("test-token\nabcdef", "contains a line break"),
    ("test-token abcdef", "must not contain whitespace"),
    ("test-token-abc\u200bdef", "contains '\\u200b' at position 15, which TikTok ids and tokens never have"),
])
async def test_a_pasted_token_is_caught_before_any_request(fake, tmp_path, token, problem):
    config = write(tmp_path, fake.url, {"pixel_id": PIXEL, "access_token": token})
    r = await asyncio.to_thread(validate, config)
    assert r.returncode == 2
    assert f"destinations.tiktok[0].access_token: {problem}" in r.stderr
    assert fake.requests == []  # nothing was sent
    assert credential_problem(token) == problem


@pytest.mark.parametrize("args, error", [
    (["--pixel", "CKNOPE"], "error: no pixel CKNOPE in"),
])
async def test_usage_errors(fake, tmp_path, args, error):
    config = write(tmp_path, fake.url, {"pixel_id": PIXEL, "access_token": TOKEN})
    r = await asyncio.to_thread(validate, config, *args)
    assert r.returncode == 2 and error in r.stderr


async def test_validate_on_start_logs_and_counts_without_stopping_the_site(origin, run_sidecar, tmp_path):
    fake = await start_fake_tiktok({PIXEL: TOKEN})
    try:
        cfg = sidecar_config(tmp_path, origin.url, fake.url, delivery={"validate_on_start": True})
        sc = await run_sidecar(cfg, env={"TEST_TIKTOK_TOKEN": "revoked-token-12345"})
        await wait_for(lambda: "TikTok refused" in sc.log(), timeout=20)
        assert '"code": 40105' in sc.log() and "revoked-token-12345" not in sc.log()
        import aiohttp

        async with aiohttp.ClientSession() as s:
            async with s.get(sc.url + "/") as r:
                assert r.status == 200  # the site is served either way
            async with s.get(sc.url + "/_pc/metrics") as r:
                assert f'pixelscleared_pixel_check_ok{{pixel="{PIXEL}"}} 0.0' in await r.text()
    finally:
        await fake.close()


def in_terminal(argv: list[str], env: dict[str, str]) -> str:
    """Run a command with stdout and stderr on a pseudo-terminal, as a person at a shell would."""
    import os
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, stdout=follower, stderr=follower, env={**os.environ, **env})
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(60)
    os.close(leader)
    return out.decode(errors="replace")


async def test_on_a_terminal_progress_and_colours_and_no_color_turns_colours_off(fake, tmp_path):
    config = write(tmp_path, fake.url, {"pixel_id": PIXEL, "access_token": TOKEN},
                   {"pixel_id": OTHER, "access_token": OTHER_TOKEN})
    argv = [str(BIN / "pixelscleared"), "validate", "-c", str(config)]
    out = await asyncio.to_thread(in_terminal, argv, {})
    assert "checked 1/2 pixels" in out and "checked 2/2 pixels" in out  # progress on the terminal
    assert "\033[32m✔" in out  # green
    plain = await asyncio.to_thread(in_terminal, argv, {"NO_COLOR": "1"})
    assert "✔" in plain and "\033[32m" not in plain
