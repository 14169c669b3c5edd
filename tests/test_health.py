"""`pixelscleared health`: the container entry command's health check, run outside Docker
against a real sidecar on a custom port and prefix."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
import yaml

from conftest import BIN, free_port, sidecar_config
from pixelscleared.config import parse_config
from pixelscleared.health import probe_url


@pytest.mark.parametrize(("host", "url"), [
    ("0.0.0.0", "http://127.0.0.1:9000/ops/health"),
    ("127.0.0.2", "http://127.0.0.2:9000/ops/health"),
    ("::", "http://[::1]:9000/ops/health"),
    ("::1", "http://[::1]:9000/ops/health"),
])
def test_probe_url_follows_listen_and_prefix(host, url):
    cfg = parse_config({"upstream": "http://127.0.0.1:1", "listen": {"host": host, "port": 9000}, "prefix": "/ops/"},
                       {})
    assert probe_url(cfg, False) == url
    assert probe_url(cfg, True) == url.replace("health", "ready")


async def health(cfg_path, *extra) -> subprocess.CompletedProcess[str]:
    """Run the command without blocking this loop (the origin under test runs on it)."""
    proc = await asyncio.create_subprocess_exec(str(BIN / "pixelscleared"), "health", "-c", str(cfg_path), *extra,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return subprocess.CompletedProcess([], proc.returncode or 0, out.decode(), err.decode())


async def test_health_command_against_a_running_sidecar(origin, tiktok, run_sidecar, tmp_path):
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url, prefix="/ops/")
    path = tmp_path / "health.yaml"
    path.write_text(yaml.safe_dump(cfg))
    down = await health(path)
    assert down.returncode == 1 and "not ok" in down.stderr  # nothing listens yet
    await run_sidecar(cfg)
    up = await health(path)
    assert up.returncode == 0, up.stderr
    assert f":{cfg['listen']['port']}/ops/health" in up.stdout
    assert (await health(path, "--ready")).returncode == 0


async def test_ready_fails_with_the_reason_when_the_origin_is_down(tiktok, run_sidecar, tmp_path):
    cfg = sidecar_config(tmp_path, f"http://127.0.0.1:{free_port()}", tiktok.url)
    path = tmp_path / "health.yaml"
    path.write_text(yaml.safe_dump(cfg))
    await run_sidecar(cfg)
    assert (await health(path)).returncode == 0  # alive
    ready = await health(path, "--ready")
    assert ready.returncode == 1 and "503" in ready.stderr and '"origin"' in ready.stderr
