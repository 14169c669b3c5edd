from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, ROOT
from pixelscleared.config import ConfigError, expand_env, load_config, parse_config

PIXEL = {"pixel_id": "CKABCDEFGH1234567890", "access_token": "tok-123456", "events": ["PageView"]}


def cfg(**over):
    base = {"upstream": "http://127.0.0.1:3000", "destinations": {"tiktok": [dict(PIXEL)]}}
    base.update(over)
    return base


def pixel(**over):
    return cfg(destinations={"tiktok": [{**PIXEL, **over}]})


@pytest.mark.parametrize("data, message", [
    (pixel(pixel_id="CK ABC"), "destinations.tiktok[0].pixel_id: must not contain whitespace"),
    (pixel(pixel_id=""), "destinations.tiktok[0].pixel_id: must not be empty"),
    (pixel(access_token=""), "destinations.tiktok[0].access_token: must not be empty (set it from the environment: ${TIKTOK_ACCESS_TOKEN})"),
    (pixel(events=[]), "destinations.tiktok[0]: events: list at least one event (or custom_events)"),
    (pixel(events=["PageView", "Pageview"]), "destinations.tiktok[0].events: event 'Pageview' is listed twice (events[0] and events[1])"),
    (pixel(events=["purchase", "CompletePayment"]), "destinations.tiktok[0].events: event 'CompletePayment' is listed twice (events[0] and events[1])"),
    (pixel(events=["Lead", "SubmitForm"]), "destinations.tiktok[0].events: event 'SubmitForm' is listed twice (events[0] and events[1])"),
    (pixel(events=["PageView", "Add To Cart"]), "destinations.tiktok[0].events[1]: must not contain whitespace"),
    (pixel(api_base="ftp://x"), "destinations.tiktok[0].api_base: must be an http:// or https:// URL"),
    (pixel(evnts=["PageView"]), "destinations.tiktok[0].evnts: unknown key"),
    (cfg(listen={"host": "0.0.0.0", "prot": 8080}), "listen.prot: unknown key"),
    (cfg(listen={"port": 70000}), "listen.port: Input should be less than or equal to 65535"),
    (cfg(upstream="localhost:3000"), "upstream: must be http(s)://host[:port] (no path)"),
    ({"destinations": {"tiktok": []}}, "upstream: is required"),
    (cfg(unconsented="maybe"), "unconsented: Input should be 'minimal' or 'drop'"),
    (cfg(identity={"trusted_proxies": ["10.0.0.0/33"]}), "identity.trusted_proxies: '10.0.0.0/33' is not an IP network (CIDR)"),
    (cfg(delivery={"batch_size": 1001}), "delivery.batch_size: Input should be less than or equal to 1000"),
    (cfg(prefix="no-slash"), "prefix: must be a path like /_pc/"),
    (cfg(destinations={"tiktok": [PIXEL, PIXEL]}),
     "destinations.tiktok: pixel_id 'CKABCDEFGH1234567890' is configured twice: destinations.tiktok[0] and destinations.tiktok[1]"),
    (cfg(destinations={"tiktok": [PIXEL, {**PIXEL, "pixel_id": "CK2"}, PIXEL]}),
     "destinations.tiktok: pixel_id 'CKABCDEFGH1234567890' is configured twice: destinations.tiktok[0] and destinations.tiktok[2]"),
])
def test_bad_configs_name_key_path_and_problem(data, message):
    with pytest.raises(ConfigError) as e:
        parse_config(data, env={})
    assert message in e.value.problems


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as e:
        parse_config(cfg(listen={"prot": 1}, bogus=1, destinations={"tiktok": [{**PIXEL, "pixel_id": "a b"}]}), env={})
    assert len(e.value.problems) == 3


@pytest.mark.parametrize("text, env, expected", [
    ("${A}", {"A": "x"}, "x"),
    ("${A:-dflt}", {}, "dflt"),
    ("${A:-dflt}", {"A": ""}, "dflt"),
    ("${A:-}", {}, ""),
    ("pre-${A}-post", {"A": "x"}, "pre-x-post"),
    ("$${A}", {"A": "x"}, "${A}"),
    ("${A}", {"A": ""}, ""),  # set but empty: the key's own check decides (run, check-config)
    ("no vars", {}, "no vars"),
])
def test_env_expansion(text, env, expected):
    assert expand_env(text, env) == expected


def test_missing_env_var_names_key_and_variable():
    with pytest.raises(ConfigError) as e:
        parse_config(pixel(access_token="${TIKTOK_ACCESS_TOKEN}"), env={})
    assert e.value.problems == ["destinations.tiktok[0].access_token: environment variable TIKTOK_ACCESS_TOKEN is not set"]


def test_token_never_in_repr_or_str():
    c = parse_config(pixel(access_token="${T}"), env={"T": "supersecret-token-value"})
    assert c.destinations.tiktok[0].access_token.get_secret_value() == "supersecret-token-value"
    assert "supersecret" not in repr(c) and "supersecret" not in str(c)


def test_pageview_spellings_become_tiktoks():
    c = parse_config(pixel(events=["PageView", "CompletePayment"]), env={})
    assert c.destinations.tiktok[0].events == ["Pageview", "CompletePayment"]


# --- event names: standard, documented aliases and custom names pass; near misses do not --------

@pytest.mark.parametrize("name, sent, custom", [
    ("PageView", "Pageview", False),
    ("Pageview", "Pageview", False),
    ("pageview", "Pageview", False),
    ("page_view", "Pageview", False),
    ("purchase", "Purchase", False),  # GA4 names mean what the pipeline maps them to
    ("add_to_cart", "AddToCart", False),
    ("generate_lead", "Lead", False),
    ("Purchase", "Purchase", False),  # TikTok's current list
    ("Lead", "Lead", False),
    ("PlaceAnOrder", "PlaceAnOrder", False),  # the legacy list
    ("NewsletterSignup", "NewsletterSignup", True),
    ("view_cart", "view_cart", True),  # a GA4 name without a TikTok one: sent as it comes
    ("Checkout", "Checkout", True),
])
def test_accepted_event_names(name, sent, custom):
    [p] = parse_config(pixel(events=[name]), env={}).destinations.tiktok
    assert p.events == [sent]
    assert p.nonstandard_events() == ([sent] if custom else [])


@pytest.mark.parametrize("name, suggestion", [
    ("PageVeiw", "PageView"),
    ("pageView", "PageView"),
    ("PAGEVIEW", "PageView"),
    ("Addtocart", "AddToCart"),
    ("completepayment", "CompletePayment"),
    ("SubmitFrom", "SubmitForm"),
    ("Purchases", "Purchase"),
    ("ViewContents", "ViewContent"),
])
def test_near_miss_event_names_are_errors_with_a_suggestion(name, suggestion):
    with pytest.raises(ConfigError) as e:
        parse_config(pixel(events=["Contact", name]), env={})
    assert e.value.problems == [
        f"destinations.tiktok[0].events[1]: {name!r} is not a TikTok event; did you mean {suggestion!r}? "
        "(a custom event of that name goes under custom_events)"]


def test_custom_events_are_taken_as_written():
    """The escape for a custom name that looks like a typo of a standard one."""
    [p] = parse_config(pixel(events=["Contact"], custom_events=["Purchases"]), env={}).destinations.tiktok
    assert p.nonstandard_events() == ["Purchases"]
    assert p.takes("Purchases") and p.takes("Contact") and not p.takes("Purchase")
    [only] = parse_config(pixel(events=[], custom_events=["Purchases"]), env={}).destinations.tiktok
    assert only.events == [] and only.takes("Purchases")
    with pytest.raises(ConfigError) as e:
        parse_config(pixel(custom_events=["Has space"]), env={})
    assert e.value.problems == ["destinations.tiktok[0].custom_events[0]: must not contain whitespace"]


def test_no_pixels_is_valid():
    assert parse_config(cfg(destinations={"tiktok": []}), env={}).destinations.tiktok == []
    assert parse_config({"upstream": "http://127.0.0.1:3000"}, env={}).destinations.tiktok == []


def test_example_config_is_valid():
    c = load_config(ROOT / "config.example.yaml", env={"TIKTOK_ACCESS_TOKEN": "abc123"})
    assert c.destinations.tiktok[0].pixel_id == "CKABCDEFGH1234567890"
    assert c.destinations.tiktok[0].test_event_code == ""


QUOTE_HINT = "; a ${VAR} inside {...} must be quoted: '${VAR}'"


@pytest.mark.parametrize("text, fragment, hint", [
    ("upstream: [unclosed", "not valid YAML (line 1", False),
    ("- a list", "(top level): must be a mapping of keys", False),
    ("upstream: http://x:1\nadmin: {token: ${ADMIN_TOKEN}}\n", "not valid YAML (line 2", True),
    ('upstream: http://x:1\nadmin: {allow: [127.0.0.0/8, "::1/128"], token: ${T:-}}\n', "not valid YAML (line 2", True),
    ("upstream: http://x:1\nadmin: {token: ${ADMIN_TOKEN}\n", "not valid YAML", True),
    ("upstream: http://x:1\nadmin: {token: [}\n", "not valid YAML (line 2", False),
])
def test_unreadable_files(tmp_path: Path, text, fragment, hint):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    assert fragment in str(e.value)
    assert (QUOTE_HINT in str(e.value)) is hint


@pytest.mark.parametrize("text", [
    "upstream: http://x:1\nadmin: {token: '${ADMIN_TOKEN}'}\n",
    "upstream: http://x:1\nadmin:\n  token: ${ADMIN_TOKEN}\n",
])
def test_the_hinted_fixes_work(tmp_path: Path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    assert load_config(p, env={"ADMIN_TOKEN": "s3cret"}).admin.token.get_secret_value() == "s3cret"


def test_check_config_command(tmp_path: Path):
    good = subprocess.run([str(BIN / "pixelscleared"), "check-config", "-c", str(ROOT / "config.example.yaml")],
                          capture_output=True, text=True, env={"TIKTOK_ACCESS_TOKEN": "abc123", "PATH": "/usr/bin"})
    assert good.returncode == 0, good.stderr
    assert "CKABCDEFGH1234567890" in good.stdout and "abc123" not in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("upstream: http://x:1\nlisten: {prot: 1}\n")
    r = subprocess.run([str(BIN / "pixelscleared"), "check-config", "-c", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "listen.prot: unknown key" in r.stderr


# --- read-only commands tolerate an unset ${VAR}; run and check-config do not ------------------

@pytest.mark.parametrize("data, check", [
    (pixel(access_token="${TIKTOK_ACCESS_TOKEN}"),
     lambda c: c.destinations.tiktok[0].access_token.get_secret_value() == "unset-env-var"),
    (cfg(outbox={"path": "${DATA_DIR:-/var/lib/pc}/outbox.sqlite"}, admin={"token": "${ADMIN_TOKEN}"}),
     lambda c: str(c.outbox.path) == "/var/lib/pc/outbox.sqlite"),
    (cfg(scrub={"drop_keys": ["coupon"]}, identity={"salt": "${SALT}"}), lambda c: "coupon" in c.scrub.drop_keys),
])
def test_allow_unset_env_fills_a_placeholder(data, check):
    assert check(parse_config(data, env={}, allow_unset_env=True))
    with pytest.raises(ConfigError, match="is not set"):
        parse_config(data, env={})


@pytest.mark.parametrize("env, problems", [
    ({"TIKTOK_ACCESS_TOKEN": ""}, ["destinations.tiktok[0].access_token: must not be empty (set it from the environment: ${TIKTOK_ACCESS_TOKEN})"]),
    ({}, ["destinations.tiktok[0].access_token: environment variable TIKTOK_ACCESS_TOKEN is not set"]),
])
def test_a_set_but_empty_var_reads_as_unset_only_for_read_only_commands(env, problems):
    data = pixel(access_token="${TIKTOK_ACCESS_TOKEN}")
    token = parse_config(data, env=env, allow_unset_env=True).destinations.tiktok[0].access_token
    assert token.get_secret_value() == "unset-env-var"
    with pytest.raises(ConfigError) as e:
        parse_config(data, env=env)
    assert e.value.problems == problems


@pytest.mark.parametrize("data, problem", [
    (cfg(listen={"port": "${PORT}"}), "listen.port: environment variable PORT is not set"),
    (cfg(upstream="${UPSTREAM}"), "upstream: environment variable UPSTREAM is not set"),
    (cfg(listen={"prot": 1, "port": "${PORT}"}), "listen.prot: unknown key"),  # other problems as ever
    (cfg(listen={"port": "${EMPTY}"}), "listen.port: environment variable EMPTY is empty"),
])
def test_a_placeholder_that_does_not_fit_names_the_variable(data, problem):
    with pytest.raises(ConfigError) as e:
        parse_config(data, env={"EMPTY": ""}, allow_unset_env=True)
    assert problem in e.value.problems


CONFIG_WITH_TOKEN_VAR = """\
upstream: http://127.0.0.1:9
destinations:
  tiktok:
    - {pixel_id: CK1, access_token: "${TIKTOK_ACCESS_TOKEN}", events: [PageView]}
outbox: {path: OUTBOX}
scrub: {drop_keys: [coupon]}
"""


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "set-but-empty"])
@pytest.mark.parametrize("argv, code", [
    (["run", "-c", "CONFIG"], 2),  # needs the token: refuses before starting
    (["check-config", "-c", "CONFIG"], 2),
    (["events", "-c", "CONFIG"], 0),  # read-only: the token is not needed
    (["scrub", "-c", "CONFIG", "--json", "-"], 0),
    (["consent", "-c", "CONFIG", "--cookie", "cmplz_marketing=allow"], 0),
])
async def test_commands_with_an_unset_token_var(tmp_path: Path, argv, code, token):
    from pixelscleared.metrics import Metrics
    from pixelscleared.outbox import Outbox

    outbox = tmp_path / "outbox.sqlite"
    ob = Outbox(outbox, Metrics())  # a real, empty events log
    await ob.open()
    await ob.close()
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG_WITH_TOKEN_VAR.replace("OUTBOX", str(outbox)))
    argv = [str(config) if a == "CONFIG" else a for a in argv]
    env = {k: v for k, v in os.environ.items() if k != "TIKTOK_ACCESS_TOKEN"}
    if token is not None:
        env["TIKTOK_ACCESS_TOKEN"] = token
    r = subprocess.run([str(BIN / "pixelscleared"), *argv], input='{"coupon": "X"}', capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == code, r.stderr
    missing = ("destinations.tiktok[0].access_token: environment variable TIKTOK_ACCESS_TOKEN is not set"
               if token is None else "destinations.tiktok[0].access_token: must not be empty")
    assert (missing in r.stderr) is (code == 2)
    assert "unset-env-var" not in r.stdout + r.stderr and "Traceback" not in r.stderr
