from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from conftest import BIN
from pixelscleared.cli import main

BASE = {"upstream": "http://127.0.0.1:3000",
        "destinations": {"tiktok": [{"pixel_id": "CK1", "access_token": "tok", "events": ["PageView"]}]}}


def run(capsys, *argv):
    rc = main(["consent", *argv])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if out else None), err


@pytest.mark.parametrize("argv, verdict, sources", [
    (["--cookie", "cmplz_marketing=allow; shop_session=abc"], "granted", ["complianz:cmplz_marketing"]),
    (["--cookie", "cmplz_marketing=allow", "--header", "Sec-GPC: 1"], "denied", ["gpc:Sec-GPC"]),
    (["--cookie", "cmplz_marketing=allow", "--cookie", "usprivacy=1YYN"], "denied", ["usp:usprivacy"]),
    (["--header", "Cookie: klaro=%7B%22tiktok%22%3Atrue%7D"], "granted", ["klaro:klaro"]),
    ([], "unknown", []),
])
def test_prints_verdict_and_sources(capsys, argv, verdict, sources):
    rc, out, _ = run(capsys, *argv)
    assert rc == 0
    assert out["verdict"] == verdict and out["sources"] == sources
    assert all(set(s) == {"source", "state"} for s in out["signals"])


def test_breakdown_lists_every_signal_without_values(capsys):
    rc, out, _ = run(capsys, "--cookie", "usprivacy=1YNN; cmplz_marketing=deny")
    assert rc == 0
    assert out["signals"] == [{"source": "usp:usprivacy", "state": "implied"},
                              {"source": "complianz:cmplz_marketing", "state": "denied"}]
    assert "1YNN" not in json.dumps(out)


def test_uses_the_config_consent_section(capsys, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**BASE, "consent": {"opt_out_regime": True, "honour_gpc": False}}))
    rc, out, _ = run(capsys, "-c", str(path), "--cookie", "usprivacy=1YNN", "--header", "Sec-GPC: 1")
    assert (rc, out["verdict"], out["sources"], out["opt_out_regime"]) == (0, "granted", ["usp:usprivacy"], True)


@pytest.mark.parametrize("over, problem", [
    ({}, None),  # only consent: is used, so the unset access token is no obstacle
    ({"listen": {"port": "${PC_TEST_PORT}"}}, "listen.port: environment variable PC_TEST_PORT is not set"),
])
def test_config_with_unset_env_vars(capsys, monkeypatch, tmp_path, over, problem):
    monkeypatch.delenv("TIKTOK_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("PC_TEST_PORT", raising=False)
    pixel = {**BASE["destinations"]["tiktok"][0], "access_token": "${TIKTOK_ACCESS_TOKEN}"}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**BASE, "destinations": {"tiktok": [pixel]},
                                    "consent": {"honour_gpc": False}, **over}))
    rc, out, err = run(capsys, "-c", str(path), "--header", "Sec-GPC: 1")
    if problem is None:
        assert (rc, out["verdict"], err) == (0, "unknown", "")  # honour_gpc: false was read
    else:
        assert rc == 2 and out is None and problem in err


def test_config_error_exits_2_with_problems_on_stderr(capsys, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**BASE, "consent": {"honour_gcp": True, "tcf_purposes": [99]}}))
    rc, out, err = run(capsys, "-c", str(path), "--cookie", "a=1")
    assert rc == 2 and out is None
    assert "consent.honour_gcp" in err and "consent.tcf_purposes" in err


def test_missing_config_file(capsys, tmp_path):
    rc, out, err = run(capsys, "-c", str(tmp_path / "nope.yaml"))
    assert rc == 2 and out is None and "cannot read" in err


def test_bad_header_argument(capsys):
    rc, out, err = run(capsys, "--header", "no colon here")
    assert rc == 2 and out is None and "expected 'Name: value'" in err


def test_installed_entry_point():
    p = subprocess.run([str(BIN / "pixelscleared"), "consent", "--cookie", "cmplz_marketing=deny"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verdict"] == "denied"
