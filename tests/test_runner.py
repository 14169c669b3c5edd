"""`pixelscleared run` as a real process: HTTPS listener, config errors, busy ports, --web."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import BIN, free_port, sidecar_config, spawn, wait_for, wait_http
from pixelscleared.config import parse_config
from pixelscleared.runner import proxy_options


def make_cert(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.test")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return tmp / "cert.pem", tmp / "key.pem"


@contextmanager
def sidecar(tmp_path: Path, cfg: dict[str, Any], *args: str, env: dict[str, str] | None = None,
            log: str = "s.log") -> Iterator[subprocess.Popen[str]]:
    """`pixelscleared run -c <cfg> [args]` as a process, not waited for (unlike `run_sidecar`)."""
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with spawn([str(BIN / "pixelscleared"), "run", "-c", str(path), *args], tmp_path / log,
               {"TEST_TIKTOK_TOKEN": "test-token-abcdef", **(env or {})}) as proc:
        yield proc


def test_proxy_options_reverse_mode_keeps_host_and_streams():
    cfg = parse_config({"upstream": "http://127.0.0.1:3000", "listen": {"host": "127.0.0.1", "port": 9000}}, env={})
    opts = proxy_options(cfg)
    assert opts["mode"] == ["reverse:http://127.0.0.1:3000@127.0.0.1:9000"]
    assert opts["keep_host_header"] is True
    assert opts["stream_large_bodies"] == "1m"
    assert (opts["listen_host"], opts["listen_port"]) == ("127.0.0.1", 9000)


async def test_https_listener_with_operator_certificate(origin, tiktok, run_sidecar, tmp_path):
    cert, key = make_cert(tmp_path)
    tls_port = free_port()
    await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url,
                                     tls={"cert": str(cert), "key": str(key), "port": tls_port}))
    ctx = ssl.create_default_context(cafile=str(cert))

    class Fixed(aiohttp.abc.AbstractResolver):
        async def resolve(self, host, port=0, family=socket.AF_INET):
            return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
                     "proto": 0, "flags": 0}]

        async def close(self):
            pass

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, resolver=Fixed())) as s:
        async with s.get(f"https://shop.test:{tls_port}/echo") as r:
            assert r.status == 200
            assert (await r.json())["host"] == f"shop.test:{tls_port}"
        async with s.post(f"https://shop.test:{tls_port}/_pc/collect", json={"event": "PageView", "event_id": "tls-1"}) as r:
            assert r.status == 204
    assert origin.seen[-1]["headers"]["X-Forwarded-Proto"] == "https"
    await wait_for(lambda: any(e["event_id"] == "tls-1" for e in tiktok.events))


def curl_has_http2() -> bool:
    try:
        return "HTTP2" in subprocess.run(["curl", "-V"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return False


async def curl(*args: str) -> tuple[str, bytes]:
    """curl's "<http_version> <status>" and the body (a subprocess: the test's servers share this loop)."""
    proc = await asyncio.create_subprocess_exec("curl", "-sS", "-o", "-", "-w", "\n%{http_version} %{http_code}",
                                                *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    body, _, status = out.rpartition(b"\n")
    return status.decode(), body


@pytest.mark.skipif(not curl_has_http2(), reason="needs curl with HTTP/2")
async def test_http2_from_browsers_passes_through(origin, tiktok, run_sidecar, tmp_path):
    # browsers speak HTTP/2 to an HTTPS site: pages and collect calls work over it as over HTTP/1.1
    cert, key = make_cert(tmp_path)
    tls_port = free_port()
    await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url,
                                     tls={"cert": str(cert), "key": str(key), "port": tls_port}))
    base = ["--http2", "--cacert", str(cert), "--resolve", f"shop.test:{tls_port}:127.0.0.1"]
    status, body = await curl(*base, f"https://shop.test:{tls_port}/some/page")
    assert status == "2 200"
    assert body == b"<html><body>Hello \xc3\xa9 shop</body></html>"  # byte-identical to the origin's
    status, _ = await curl(*base, "-H", "Content-Type: application/json",
                           "--data", '{"event": "PageView", "event_id": "h2-1"}', f"https://shop.test:{tls_port}/_pc/collect")
    assert status == "2 204"
    await wait_for(lambda: any(e["event_id"] == "h2-1" for e in tiktok.events))


def test_invalid_config_exits_2_with_key_paths(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"upstream": "http://127.0.0.1:1", "listen": {"prot": 1}}))
    r = subprocess.run([str(BIN / "pixelscleared"), "run", "-c", str(p)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "listen.prot: unknown key" in r.stderr


def test_busy_port_is_a_clear_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        p = tmp_path / "c.yaml"
        p.write_text(yaml.safe_dump({"upstream": "http://127.0.0.1:1", "listen": {"host": "127.0.0.1", "port": port}}))
        r = subprocess.run([str(BIN / "pixelscleared"), "run", "-c", str(p)], capture_output=True, text=True,
                           timeout=60)
    assert r.returncode == 1
    assert f"error: port {port} on 127.0.0.1 is already in use" in r.stderr
    assert "Traceback" not in r.stderr


async def wait_line(log: Path, prefix: str, timeout: float = 20.0) -> str:
    """The first output line starting with `prefix`, once the process has written it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith(prefix):
                return line
        await asyncio.sleep(0.1)
    raise AssertionError(f"no line starting with {prefix!r}:\n{log.read_text()}")


async def test_web_ui_prints_its_url_and_shows_annotated_flows(origin, tiktok, tmp_path):
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url)
    web_port = free_port()
    log = tmp_path / "web.log"
    with sidecar(tmp_path, cfg, "--web", "--web-port", str(web_port), log=log.name) as proc:
        url = f"http://127.0.0.1:{cfg['listen']['port']}"
        await wait_http(url + "/_pc/health")
        web_url = (await wait_line(log, "mitmweb UI: ")).split()[2]
        token = parse_qs(urlsplit(web_url).query)["token"][0]
        assert web_url == f"http://127.0.0.1:{web_port}/?token={token}" and len(token) >= 16
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.get(f"http://127.0.0.1:{web_port}/") as r:
                assert r.status == 403  # no token, no UI
            async with s.get(web_url) as r:
                assert r.status == 200  # the printed URL logs the browser in (cookie)
            for path in ("/", "/state.json", "/flows", "/options.json"):
                async with s.get(f"http://127.0.0.1:{web_port}{path}") as r:
                    assert r.status == 200, path
            # mitmweb's footer shows listen_host:listen_port: the sidecar's address, not *:8080
            async with s.get(f"http://127.0.0.1:{web_port}/options.json") as r:
                options = await r.json()
            assert (options["listen_host"]["value"], options["listen_port"]["value"]) == (
                "127.0.0.1", cfg["listen"]["port"])
            async with s.get(f"http://127.0.0.1:{web_port}/state.json") as r:
                servers = (await r.json())["servers"]
            # ... and still only the configured listener is bound
            assert [a for srv in servers.values() for a in srv["listen_addrs"]] == [
                ["127.0.0.1", cfg["listen"]["port"]]]
            event = {"event": "PageView", "event_id": "web-1",
                     "properties": {"email": "jane.doe@example.com"}}
            async with s.post(url + "/_pc/collect", json=event) as r:
                assert r.status == 204
            await wait_for(lambda: any(e["event_id"] == "web-1" for e in tiktok.events))

            async def comment() -> str:
                async with s.get(f"http://127.0.0.1:{web_port}/flows") as r:
                    flows = await r.json()
                return next((f["comment"] for f in flows if f["request"]["path"] == "/_pc/collect"), "")

            for _ in range(100):  # the comment follows the delivery
                if "CKTESTPIXEL000000001: delivered" in (text := await comment()):
                    break
                await asyncio.sleep(0.1)
        assert "CKTESTPIXEL000000001: delivered" in text, text
        assert "properties.email (email)" in text and "jane" not in text
        assert proc.poll() is None
    out = log.read_text()
    assert "warning: mitmweb shows unscrubbed traffic" in out and "staging only" in out
    assert out.count(token) == 1  # printed once; redacted in every log line
    access = [line for line in out.splitlines() if "tornado.access" in line]
    assert len(access) == 1 and "403 GET / " in access[0]  # no line per UI request; a refused one stays
    assert "test-token-abcdef" not in out


async def test_web_ui_with_a_password_prints_no_token(origin, tiktok, tmp_path):
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url)
    web_port = free_port()
    log = tmp_path / "web.log"
    with sidecar(tmp_path, cfg, "--web", "--web-port", str(web_port), log=log.name,
                 env={"PIXELSCLEARED_WEB_PASSWORD": "staging-pass-42"}):
        line = await wait_line(log, "mitmweb UI: ")
        assert line == (f"mitmweb UI: http://127.0.0.1:{web_port}/ "
                        "(log in with the password from PIXELSCLEARED_WEB_PASSWORD)")
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{web_port}/flows",
                                                        headers={"Authorization": "Bearer staging-pass-42"}) as r:
            assert r.status == 200
    assert "staging-pass-42" not in log.read_text()


def test_run_help_names_the_web_options():
    r = subprocess.run([str(BIN / "pixelscleared"), "run", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    out = " ".join(r.stdout.split())
    assert "--web-host HOST" in out and "default: 127.0.0.1" in out
    assert "--web-port PORT" in out and "default: 8081" in out
    assert "unscrubbed traffic" in out and "PIXELSCLEARED_WEB_PASSWORD" in out


@pytest.mark.parametrize("path", ["/", "/_pc/events", "/_pc/metrics"])
async def test_traffic_during_startup_does_not_stop_the_sidecar(origin, tiktok, tmp_path, path):
    """Requests that arrive while the proxy is still starting (a restart under load) are served.

    The listener is up before the outbox opens: an early events-log query once failed there,
    and mitmproxy's errorcheck stopped the sidecar for that error.
    """
    cfg = sidecar_config(tmp_path, origin.url, tiktok.url)
    url = f"http://127.0.0.1:{cfg['listen']['port']}{path}"
    with sidecar(tmp_path, cfg) as proc:
        ok = 0
        deadline = time.monotonic() + 20

        async def hammer(s: aiohttp.ClientSession) -> None:
            nonlocal ok
            while ok < 50 and time.monotonic() < deadline and proc.poll() is None:
                try:
                    async with s.get(url) as r:
                        ok += r.status == 200
                except aiohttp.ClientError:
                    await asyncio.sleep(0.001)

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
            await asyncio.gather(*(hammer(s) for _ in range(8)))
        with pytest.raises(subprocess.TimeoutExpired):  # still running half a second later
            proc.wait(0.5)
        assert ok >= 50
