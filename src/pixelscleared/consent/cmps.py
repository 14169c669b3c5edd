"""Signal readers: one cookie value → the advertising-consent state it records.

Each reader is a pure function of the (raw) cookie value, bound to the site's ids at load by
`readers(settings)`. States: "granted", "denied", "unknown", and "implied" — a CMP default
or "did not opt out", which counts as a grant only in an opt-out regime. A reader may raise
ValueError on a malformed value; the engine turns that (and anything else) into "unknown".
The cookies each reader takes and the value formats (as each CMP's own SDK writes them) are listed
in docs/consent.md.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from pixelscleared.consent.cookies import (
    ValueErrorUnknown,
    b64_json,
    flat_bools,
    json_path,
    json_value,
    pct,
    raw,
)
from pixelscleared.consent.gpp import decode_gpp
from pixelscleared.consent.settings import ConsentSettings, CustomRule
from pixelscleared.consent.tcf import TCCore, decode_core, purpose_mask
from pixelscleared.consent.usp import USP_PLAIN, USPString, parse_usp

SignalState = Literal["granted", "denied", "unknown", "implied"]
Reader = Callable[[str], SignalState]

GRANTED: SignalState = "granted"
DENIED: SignalState = "denied"
UNKNOWN: SignalState = "unknown"
IMPLIED: SignalState = "implied"

# Most restrictive first: duplicates and multi-part signals resolve to the lowest rank.
RANK: dict[SignalState, int] = {DENIED: 0, UNKNOWN: 1, IMPLIED: 2, GRANTED: 3}


def most_restrictive(states: Iterable[SignalState]) -> SignalState:
    return min(states, key=RANK.__getitem__, default=UNKNOWN)


def all_listed(values: dict[str, Any], keys: Iterable[str], yes: object = True, no: object = False) -> SignalState:
    """Listed keys that are present must all say yes (at least one present); any no → denied."""
    seen = [values[k] for k in keys if k in values]
    if no in seen:  # `in` and `count` compare with ==, as a loop would
        return DENIED
    if seen and seen.count(yes) == len(seen):
        return GRANTED
    return UNKNOWN


def _dict(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueErrorUnknown("not a JSON object")
    return obj


# -- CMPs ----------------------------------------------------------------------------------

# A form field's values (at the start or after `&`), searched in "&" + value: a literal-prefixed scan in C.
_OT_GROUPS = re.compile(r"&groups=([^&]*)")
_OT_INTERACTIONS = re.compile(r"&interactionCount=([^&]*)")


_OT_GPC = re.compile(r"&isGpcEnabled=1(?:&|$)")
_OT_AWAITING = re.compile(r"&AwaitingReconsent=true(?:&|$)", re.IGNORECASE)
_OT_DATESTAMP = re.compile(r"&datestamp=([^&]*)")
_JS_DATE = re.compile(r"([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                        "Nov", "Dec"), 1)}


def older_than(timestamp_s: float, max_age_s: float) -> bool:
    """A recorded choice too old to be a current grant."""
    return time.time() - timestamp_s > max_age_s


def _js_date(text: str) -> float | None:
    """JavaScript's `Date.toString()` (`Tue Dec 03 2024 10:00:00 GMT+0100 (…)`) as epoch seconds,
    read to the day (the zone is ignored: a day is far below any consent age)."""
    m = _JS_DATE.search(text)
    if m is None or m.group(1) not in _MONTHS:
        return None
    try:
        return datetime(int(m.group(3)), _MONTHS[m.group(1)], int(m.group(2))).timestamp()
    except ValueError:
        return None


_OT_GEN_VENDORS = re.compile(r"&genVendors=([^&]*)")


def _ot_choices(listed: str) -> dict[str, str]:
    """OneTrust's `id:1,id:0` lists (`groups`, `genVendors`): id → "1"/"0", stripped, last copy wins."""
    return dict(g.strip().partition(":")[::2] for g in listed.split(",") if ":" in g)


def onetrust(groups: tuple[str, ...], honour_gpc: bool = True, max_age_s: float = float("inf"),
             vendors: tuple[str, ...] = ()) -> Reader:
    """`vendors`: the site's OneTrust general-vendor ids for TikTok (`genVendors=V12:1,…`): a refused
    one denies even when the category is granted; listed ones must be consented for a grant."""
    # `C0001:1,C0004:0`: entry keys and values are stripped, the last copy of a key wins. For
    # plain group ids one C call finds just the site's groups, as the split loop would.
    plain = all(g == g.strip() and g and not {",", ":"} & set(g) for g in groups)
    pick = re.compile(r",\s*(" + "|".join(map(re.escape, groups)) + r"):([^,]*?)\s*(?=,|\Z)")  # on "," + list

    def read(value: str) -> SignalState:
        value = "&" + raw(value)  # form-encoded `k=v&k=v`; only two fields matter
        found = _OT_GROUPS.findall(value)
        if len(found) != 1:
            return UNKNOWN  # absent, or repeated (ambiguous)
        listed = pct(found[0].replace("+", " "))
        consent = dict(pick.findall("," + listed)) if plain else _ot_choices(listed)
        if honour_gpc and _OT_GPC.search(value):
            return DENIED  # the browser's Global Privacy Control, recorded by the CMP: an opt-out
        state = all_listed(consent, groups, yes="1", no="0")
        if vendors and state != DENIED:
            gen = _OT_GEN_VENDORS.findall(value)
            chosen = _ot_choices(pct(gen[0].replace("+", " "))) if len(gen) == 1 else {}
            vendor_state = all_listed(chosen, vendors, yes="1", no="0")
            if vendor_state == DENIED:
                return DENIED
            if vendor_state == UNKNOWN:
                state = UNKNOWN  # the category alone does not say TikTok was accepted
        if state == GRANTED and (count := _OT_INTERACTIONS.search(value)) and count.group(1) == "0":
            return IMPLIED  # the CMP's default, not a choice
        if state == GRANTED and _OT_AWAITING.search(value):
            return UNKNOWN  # the site asks again (new purposes or vendors): the old choice is not current
        if state == GRANTED and (stamp := _OT_DATESTAMP.search(value)):
            when = _js_date(pct(stamp.group(1).replace("+", " ")))
            if when is not None and older_than(when, max_age_s):
                return UNKNOWN
        return state
    return read


# Read on the raw value (Cookiebot percent-encodes only some characters: `:` may be `%3A`).
# Patterns start with a literal so the scan runs in C; keys are fixed by Cookiebot.
_CB_MARKETING = re.compile(r"marketing\s*(?::|%3[Aa])\s*(true|false)\b")
_CB_METHOD = re.compile(r"method\s*(?::|%3[Aa])\s*(?:'|%27)?(\w+)")


_CB_UTC = re.compile(r"utc\s*(?::|%3[Aa])\s*(\d{10,13})")
_CB_IAB = re.compile(r"iab2\s*(?::|%3[Aa])\s*(?:'|%27)([A-Za-z0-9_\-.]+)")


def cookiebot(purposes: tuple[int, ...] = (1, 7), vendor_ids: tuple[int, ...] = (),
              max_age_s: float = float("inf")) -> Reader:
    mask = purpose_mask(purposes)

    def read(value: str) -> SignalState:
        state = cookiebot_state(value)
        if state == DENIED:
            return state
        if (tc := _CB_IAB.search(raw(value))) is not None:  # Cookiebot's TCF mode embeds the TC string
            try:
                tcf = tcf_state(decode_core(tc.group(1)), mask, vendor_ids, max_age_s)
            except ValueError:
                tcf = UNKNOWN
            if tcf == DENIED:
                return DENIED
        if state == GRANTED and (utc := _CB_UTC.search(raw(value))):
            stamp = int(utc.group(1))
            if older_than(stamp / 1000 if stamp > 10**11 else stamp, max_age_s):
                return UNKNOWN
        return state
    return read


def cookiebot_state(value: str) -> SignalState:
    text = raw(value).strip()
    if text == "-1":
        return IMPLIED  # outside any consent-requiring region: everything accepted by default
    if text == "0":
        return DENIED  # only necessary cookies accepted
    marks = _CB_MARKETING.findall(text)
    if not marks:
        return UNKNOWN
    if "false" in marks:
        return DENIED
    method = _CB_METHOD.search(text)
    return IMPLIED if method and method.group(1) == "implied" else GRANTED


def cookieyes(value: str) -> SignalState:
    pairs = [p.partition(":") for p in pct(value).split(",")]
    fields: dict[str, list[str]] = {}
    for k, _, v in pairs:
        fields.setdefault(k.strip(), []).append(v.strip())
    ads = fields.get("advertisement", [])
    action = fields.get("action")
    # `action:yes` once the visitor chose; `action:` (or `no`) before: the values are the banner's defaults
    undecided = action is not None and action[-1] != "yes"
    if "no" in ads:
        return UNKNOWN if undecided else DENIED
    if not ads or any(v != "yes" for v in ads):
        return UNKNOWN
    return IMPLIED if undecided else GRANTED


def complianz(value: str) -> SignalState:
    return {"allow": GRANTED, "deny": DENIED}.get(pct(value).strip().lower(), UNKNOWN)


def didomi(purposes: tuple[str, ...], vendors: tuple[str, ...]) -> Reader:
    exact = frozenset(v for v in vendors if not v.endswith("*"))
    prefixes = tuple(v[:-1] for v in vendors if v.endswith("*"))

    def ours(ids: set[str]) -> bool:
        return any(i in exact or (prefixes and i.startswith(prefixes)) for i in ids)

    def ids(section: Any, key: str) -> set[str]:
        if not isinstance(section, dict):
            return set()
        got = section.get(key, [])
        return {str(i) for i in got} if isinstance(got, list) else set()

    def read(value: str) -> SignalState:
        token = _dict(b64_json(value))
        p, v = token.get("purposes"), token.get("vendors")
        p_on, p_off = ids(p, "enabled"), ids(p, "disabled")
        v_off = ids(v, "disabled")
        if any(x in p_off for x in purposes) or ours(v_off):
            return DENIED
        # The token lists only vendors the visitor decided on: a TikTok vendor the site does
        # not declare is no reason to withhold a purpose-level grant.
        return GRANTED if all(x in p_on for x in purposes) else UNKNOWN
    return read


def _expiry(value: object) -> float | None:
    """An embedded expiry: epoch seconds or milliseconds, or an HTTP date."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        n = float(value)
        return n / 1000 if n > 10**11 else n
    if isinstance(value, str):
        try:
            return parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
    return None


def borlabs(groups: tuple[str, ...]) -> Reader:
    def read(value: str) -> SignalState:
        obj = _dict(json_value(value))
        consents = obj.get("consents")
        if not isinstance(consents, dict):
            return UNKNOWN
        # A group the visitor accepted is listed with its services; a refused one is absent.
        if not all(consents.get(g) for g in groups):
            return DENIED
        expires = _expiry(obj.get("expires"))
        return UNKNOWN if expires is not None and expires < time.time() else GRANTED  # expired: not current
    return read


def iubenda(purposes: tuple[str, ...]) -> Reader:
    def read(value: str) -> SignalState:
        obj = _dict(json_value(value))
        chosen = obj.get("purposes")
        if isinstance(chosen, dict):
            return GRANTED if all(chosen.get(p) is True for p in purposes) else DENIED
        consent = obj.get("consent")
        if isinstance(consent, bool):
            return GRANTED if consent else DENIED
        return UNKNOWN
    return read


def cookiefirst(value: str) -> SignalState:
    return all_listed(_dict(json_value(value)), ("advertising",))


def axeptio(vendors: tuple[str, ...]) -> Reader:
    def read(value: str) -> SignalState:
        obj = _dict(json_value(value))
        if obj.get("$$completed") is False:
            return UNKNOWN
        return all_listed(obj, vendors)
    return read


def axeptio_authorized(vendors: tuple[str, ...]) -> Reader:
    def read(value: str) -> SignalState:
        listed = {v.strip() for v in pct(value).split(",")}
        # Absence can mean "refused" or "not asked yet": only presence is a signal.
        return GRANTED if all(v in listed for v in vendors) else UNKNOWN
    return read


def klaro(services: tuple[str, ...]) -> Reader:
    def read(value: str) -> SignalState:
        if (flat := flat_bools(value)) is not None:
            return all_listed(flat, services, yes="true", no="false")
        return all_listed(_dict(json_value(value)), services)
    return read


def shopify_tracking(value: str) -> SignalState:
    """`_tracking_consent` in each format Shopify's consent API reads (its `privacy-banner` /
    `consent-tracking-api` script): the compact v3 (`3.AMPS_USCA_f_f_<id>`), JSON v2.1
    (`con.CMP` + `purposes`) and JSON v2.0 and older (`con.GDPR`)."""
    text = pct(value)
    if text[:1] == "3":
        return _shopify_v3(text)
    obj = _dict(json_value(text))
    con = obj.get("con")
    con = con if isinstance(con, dict) else {}
    cmp = con.get("CMP")
    if not isinstance(cmp, dict):  # v2.0 and older: one tracking choice under the law's name
        cmp = {"m": con.get("GDPR", "")}
    purposes = obj.get("purposes")
    return _shopify(cmp, purposes if isinstance(purposes, dict) else {}, obj.get("sale_of_data_region") is True)


_SHOPIFY_V3 = re.compile(r"3([A-Za-z.]*)_([^_]*)_([tf]?)_([tf]?)(?:_.*)?", re.DOTALL)


def _shopify_v3(text: str) -> SignalState:
    """`3<choices>.<allowed>_<region>_<banner t/f>_<sale-of-data region t/f>_<consent id>[_<json>]`:
    before the dot a letter per category the visitor chose — upper case accepted, lower case
    declined (a analytics, m marketing, p preferences, s sale of data); anywhere in the first
    field an upper-case letter marks the purpose allowed (S for sale of data, purpose `t`)."""
    m = _SHOPIFY_V3.fullmatch(text)
    if m is None:
        raise ValueErrorUnknown("not a Shopify v3 value")
    letters = m.group(1)
    chosen = letters.split(".")[0]
    cmp = {k: "0" if k in chosen else "1" if k.upper() in chosen else "" for k in "amps"}
    purposes = {"a": "A" in letters, "p": "P" in letters, "m": "M" in letters, "t": "S" in letters}
    return _shopify(cmp, purposes, m.group(4) == "t")


def shopify_cmp_a(value: str) -> SignalState:
    """`_cmp_a`: only what Shopify allows (`purposes`), never the visitor's own choice."""
    obj = _dict(json_value(value))
    purposes = obj.get("purposes")
    if not isinstance(purposes, dict):
        return UNKNOWN
    return _shopify({}, purposes, obj.get("sale_of_data_region") is True)


# -- more CMPs ---------------------------------------------------------------------------------

_YES_NO: dict[str, SignalState] = {"yes": GRANTED, "no": DENIED}


def cookielawinfo_checkbox(value: str) -> SignalState:
    """CookieLawInfo / CookieYes (legacy plugin): `cookielawinfo-checkbox-advertisement=yes|no`."""
    return _YES_NO.get(pct(value).strip().lower(), UNKNOWN)


def cookielawinfo_consent(value: str) -> SignalState:
    """`CookieLawInfoConsent`: base64 JSON of categories, `{"advertisement": true, …}`."""
    ads = _dict(b64_json(value)).get("advertisement")
    return GRANTED if ads is True else DENIED if ads is False else UNKNOWN


_TRUSTARC_LIST = re.compile(r"\s*(\d+(?:\s*,\s*\d+)*)\s*")
_CMAPI = re.compile(r"permit[\s_+]+(\d+(?:\s*,\s*\d+)*)")


def trustarc(category: int) -> tuple[Reader, Reader, Reader]:
    """TrustArc's three cookies, with the site's advertising category (0-based, as in
    `notice_gdpr_prefs`; 2 in TrustArc's default required/functional/advertising set-up).
    Each is written when the visitor submits a choice; seen on live sites:
    `notice_gdpr_prefs=0,1,2:` (`0::implied,us` in its US mode) — the accepted categories;
    `notice_preferences=2:` — the highest level accepted;
    `cmapi_cookie_privacy=permit 1,2,3` (`permit 1 required`, `permit_1_required`) — 1-based."""
    def gdpr_prefs(value: str) -> SignalState:
        m = _TRUSTARC_LIST.fullmatch(pct(value).partition(":")[0])
        if m is None:
            return UNKNOWN
        return GRANTED if category in {int(c) for c in m.group(1).split(",")} else DENIED

    def preferences(value: str) -> SignalState:
        level = pct(value).partition(":")[0].strip()
        # one digit: TrustArc has a handful of levels, so `123` is not a level
        return (GRANTED if int(level) >= category else DENIED) if level.isdigit() and len(level) == 1 else UNKNOWN

    def cmapi(value: str) -> SignalState:
        m = _CMAPI.match(pct(value).strip())
        if m is None:
            return UNKNOWN
        return GRANTED if category + 1 in {int(c) for c in m.group(1).split(",")} else DENIED

    return gdpr_prefs, preferences, cmapi


def osano(value: str) -> SignalState:
    """`osano_consentmanager`: base64 JSON `{"MARKETING": "ACCEPT"|"DENY", "OPT_OUT": …}`."""
    obj = _dict(b64_json(value))
    if obj.get("OPT_OUT") == "ACCEPT":
        return DENIED  # the visitor opted out of sale/sharing
    return {"ACCEPT": GRANTED, "DENY": DENIED}.get(str(obj.get("MARKETING", "")), UNKNOWN)


def ketch(purposes: tuple[str, ...]) -> Reader:
    """`_ketch_consent_v1_`: base64 JSON `{"<purpose>": {"status": "granted"|"denied",
    "canonicalPurposes": ["behavioral_advertising"]}, …}` — a site's own purpose code is matched
    by its canonical names too."""
    def read(value: str) -> SignalState:
        obj = _dict(b64_json(value))
        states: dict[str, Any] = {}
        for k, v in obj.items():
            if not isinstance(v, dict):
                continue
            canonical = v.get("canonicalPurposes")
            names = [k, *(c for c in canonical if isinstance(c, str))] if isinstance(canonical, list) else [k]
            for name in names:
                if states.get(name) != "denied":  # two codes for one canonical purpose: a refusal wins
                    states[name] = v.get("status")
        return all_listed(states, purposes, yes="granted", no="denied")
    return read


def tealium(categories: tuple[str, ...], max_age_s: float = float("inf")) -> Reader:
    """Tealium `CONSENTMGR=c1:1|c3:0|consent:true|ts:1700000000000`."""
    def read(value: str) -> SignalState:
        fields = dict(p.partition(":")[::2] for p in pct(value).split("|") if ":" in p)
        if fields.get("consent") == "false":
            return DENIED
        state = all_listed(fields, categories, yes="1", no="0")
        if state == UNKNOWN and fields.get("consent") == "true" and not any(c in fields for c in categories):
            state = GRANTED  # "accept all" without per-category entries
        ts = fields.get("ts", "")
        if state == GRANTED and ts.isdigit() and older_than(int(ts) / 1000 if len(ts) > 11 else int(ts), max_age_s):
            return UNKNOWN
        return state
    return read


def funding_choices(purposes: tuple[int, ...], vendor_ids: tuple[int, ...], max_age_s: float) -> Reader:
    """Google Funding Choices `FCCDCF`: a JSON array that embeds the TC string."""
    mask = purpose_mask(purposes)

    def strings(node: Any, depth: int = 0) -> Iterable[str]:
        if depth > 6:
            return
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for item in node[:32]:
                yield from strings(item, depth + 1)

    def read(value: str) -> SignalState:
        for text in strings(json_value(value)):
            if text[:1] in "BC" and len(text) > 30:
                try:
                    core = decode_core(text)
                except ValueError:
                    continue
                return tcf_state(core, mask, vendor_ids, max_age_s)
        return UNKNOWN
    return read


def _iso_time(value: object) -> float | None:
    """An ISO 8601 timestamp (`2025-05-21T20:21:36.739Z`) as epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def cookie_information(categories: tuple[str, ...], max_age_s: float = float("inf")) -> Reader:
    """Cookie Information `CookieInformationConsent`: percent-encoded JSON with `consents_approved`
    and `consents_denied` lists of categories (`cookie_cat_marketing`, …) and the `timestamp` of
    the choice (as live Nordic sites carry it)."""
    def read(value: str) -> SignalState:
        obj = _dict(json_value(value))
        approved, denied = obj.get("consents_approved"), obj.get("consents_denied")
        approved = approved if isinstance(approved, list) else []
        denied = denied if isinstance(denied, list) else []
        if any(c in denied for c in categories):
            return DENIED
        if not any(c in approved for c in categories):
            # approved lists only what was accepted: a recorded choice without marketing refused it
            return DENIED if approved else UNKNOWN
        ts = _iso_time(obj.get("timestamp"))
        return UNKNOWN if ts is not None and older_than(ts, max_age_s) else GRANTED
    return read


_TC_TIMESTAMPS = re.compile(r"\d{10,13}(?:,\d{10,13})*")


def commanders_act(categories: tuple[str, ...], max_age_s: float = float("inf")) -> Reader:
    """Commanders Act TrustCommander `TC_PRIVACY`: `<status>@<version>[|…]@…@<accepted categories>@
    <refused categories>@<updated>,<created>,<expires>[@<TC string>]` — status 1 opted out, 0 opted
    in to the listed categories (the documented layouts differ before the categories; they are
    found from the timestamps). Category ids are per site: with none configured, only "accepted
    everything" (no refused category) grants."""
    def read(value: str) -> SignalState:
        text = raw(value)
        if "@" not in text:
            text = pct(text)  # the whole value percent-encoded, separators too
        fields = [pct(f) for f in text.split("@")]
        at = next((i for i, f in enumerate(fields) if i >= 3 and _TC_TIMESTAMPS.fullmatch(f)), None)
        if fields[0] not in ("0", "1") or at is None:
            raise ValueErrorUnknown("not a TC_PRIVACY value")
        if fields[0] == "1" or fields[at - 2].strip().upper() == "ALL":
            return DENIED
        accepted = {c.strip() for c in fields[at - 2].split(",") if c.strip()}
        refused = {c.strip() for c in fields[at - 1].split(",") if c.strip()}
        if categories:
            if any(c in refused for c in categories):
                return DENIED
            state = GRANTED if all(c in accepted for c in categories) else UNKNOWN
        else:
            state = GRANTED if accepted and not refused else UNKNOWN
        stamps = fields[at].split(",")
        updated = int(stamps[0]) / (1000 if len(stamps[0]) > 11 else 1)
        expires = int(stamps[2]) / (1000 if len(stamps[2]) > 11 else 1) if len(stamps) > 2 else None
        if state == GRANTED and (older_than(updated, max_age_s) or (expires is not None and expires < time.time())):
            return UNKNOWN
        return state
    return read


def usercentrics(services: tuple[str, ...]) -> Reader:
    """Usercentrics `uc_settings` where a site keeps it in a cookie: JSON with `services`
    (`{"name": "TikTok Pixel", "status": true}`); a configured name matches as a case-insensitive
    part of the service's name or its exact id. Its usual cookie (`controllerId`, `id`,
    `language` only) records no choice: unknown."""
    wanted = tuple(s.lower() for s in services)

    def read(value: str) -> SignalState:
        listed = _dict(json_value(value)).get("services")
        if not isinstance(listed, list):
            return UNKNOWN
        states: list[SignalState] = []
        for svc in listed[:500]:
            if not isinstance(svc, dict):
                continue
            name, ident = str(svc.get("name", "")).lower(), str(svc.get("id", "")).lower()
            if any(w in name or w == ident for w in wanted):
                status = svc.get("status")
                states.append(GRANTED if status is True else DENIED if status is False else UNKNOWN)
        return most_restrictive(states) if states else UNKNOWN
    return read


def usercentrics_tcf(purposes: tuple[int, ...], vendor_ids: tuple[int, ...], max_age_s: float) -> Reader:
    """Usercentrics `uc_tcf`: JSON `{"tcString": "<TC string>", "acString": …, "timestamp": …}`."""
    mask = purpose_mask(purposes)

    def read(value: str) -> SignalState:
        tc = _dict(json_value(value)).get("tcString")
        if not isinstance(tc, str) or not tc:
            return UNKNOWN
        return tcf_state(decode_core(tc), mask, vendor_ids, max_age_s)
    return read


_HS_SPLIT = re.compile(r"[,_|]")


def hubspot(value: str) -> SignalState:
    """HubSpot's banner `__hs_cookie_cat_pref=1:true,2:false,3:true` (copies with `_` between the
    pairs exist): 1 analytics, 2 advertisement, 3 functionality — as its consent listener's
    `categories` and the Consent Mode template that reads this cookie map them."""
    cats: dict[str, str] = {}
    for part in _HS_SPLIT.split(pct(value)):
        k, _, v = part.partition(":")
        cats[k.strip()] = v.strip().lower()
    return {"true": GRANTED, "false": DENIED}.get(cats.get("2", ""), UNKNOWN)


def hubspot_opt_out(value: str) -> SignalState:
    """`__hs_opt_out=yes`: the visitor declined HubSpot's (older, one-button) banner; `no` says
    only that HubSpot may track, nothing about advertising."""
    return DENIED if pct(value).strip().lower() == "yes" else UNKNOWN


def bigcommerce(value: str) -> SignalState:
    """BigCommerce `bc_consent={"allow":[2,3,4],"deny":[]}`: category 4 is targeting/advertising
    (2 functional, 3 analytics), as in its storefront consent API."""
    obj = _dict(json_value(value))
    allow, deny = obj.get("allow"), obj.get("deny")
    if isinstance(deny, list) and 4 in deny:
        return DENIED
    return GRANTED if isinstance(allow, list) and 4 in allow else UNKNOWN


def wix(value: str) -> SignalState:
    """Wix `consent-policy={"ess":1,"func":1,"anl":1,"adv":1,"dt3":1,"ts":…}`: the visitor's
    policy; advertising (`adv`) and data to third parties (`dt3`, CCPA's sale or sharing) both
    needed — sending to TikTok is both."""
    obj = _dict(json_value(value))
    adv, dt3 = obj.get("adv"), obj.get("dt3")
    if adv in (0, False) or dt3 in (0, False):
        return DENIED
    return GRANTED if adv in (1, True) and dt3 in (1, True, None) else UNKNOWN


def cookiescript(value: str) -> SignalState:
    """CookieScript `CookieScriptConsent={"action":"accept","categories":"[\"targeting\",…]"}`
    (`categories` is itself JSON text in its own script, a list in some copies): `targeting`
    is its advertising category."""
    obj = _dict(json_value(value))
    action = obj.get("action")
    if action == "reject":
        return DENIED
    cats = obj.get("categories")
    if isinstance(cats, str):
        try:
            cats = json.loads(cats)
        except ValueError:
            return UNKNOWN
    if action != "accept" or not isinstance(cats, list):
        return UNKNOWN
    return GRANTED if "targeting" in cats else DENIED


def moove(categories: tuple[str, ...]) -> Reader:
    """GDPR Cookie Compliance (Moove) `moove_gdpr_popup={"strict":"1","thirdparty":"1","advanced":"0"}`:
    `thirdparty` is its analytics section, `advanced` the one for advertising (by default)."""
    def read(value: str) -> SignalState:
        obj = _dict(json_value(value))
        seen = [obj[c] for c in categories if c in obj]
        if any(_no(v) or v == 0 for v in seen):
            return DENIED
        return GRANTED if seen and all(_yes(v) or v == 1 for v in seen) else UNKNOWN
    return read


def segment_preferences(value: str) -> SignalState:
    """Segment's consent manager `tracking-preferences={"version":1,"destinations":{…},
    "custom":{"marketingAndAnalytics":true,"advertising":true,"functional":true}}`: the
    `advertising` category, and a TikTok destination switched off."""
    obj = _dict(json_value(value))
    destinations = _dict(obj.get("destinations"))
    if any("tiktok" in str(k).lower() and v is False for k, v in destinations.items()):
        return DENIED
    return all_listed(_dict(obj.get("custom")), ("advertising",))


def cookie_notice(value: str) -> SignalState:
    """Cookie Notice (Hu-manity) `cookie_notice_accepted=true|false`: one button for all cookies."""
    return {"true": GRANTED, "false": DENIED}.get(pct(value).strip().lower(), UNKNOWN)


_CATEGORY_WORDS = re.compile(r"[^a-z]+")


def ad_category(name: str, words: tuple[str, ...]) -> bool:
    """A site-named category for advertising: a word of its name begins with one of `words`
    (`Marketing`, `marketing_cookies`, `Targetting`, `ads`, `Werbung`, `publicité`)."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", name.lower()) if not unicodedata.combining(c))
    return any(w.startswith(words) for w in _CATEGORY_WORDS.split(folded) if w)


def _accepted_list(accepted: object, words: tuple[str, ...]) -> SignalState:
    """A list of the accepted categories only (`cc_cookie`, Drupal's): a recorded choice without an
    advertising one is a refusal of advertising."""
    if not isinstance(accepted, list):
        return UNKNOWN
    return GRANTED if any(isinstance(c, str) and ad_category(c, words) for c in accepted) else DENIED


def _site_categories(accepted: dict[str, bool], words: tuple[str, ...]) -> SignalState:
    """Site-named categories → state: any advertising one declined → denied; all accepted → granted."""
    ads = [ok for name, ok in accepted.items() if ad_category(name, words)]
    if not ads:
        return UNKNOWN
    return GRANTED if all(ads) else DENIED


def civic(words: tuple[str, ...], max_age_s: float = float("inf")) -> Reader:
    """Civic Cookie Control `CookieControl={"necessaryCookies":[…],"optionalCookies":{"analytics":
    "accepted","marketing":"revoked"},"consentDate":1676407618702,"consentExpiry":90,
    "interactedWith":true,…}`: categories are named by each site (`marketing`, `advertising`,
    `targetting`); the choice lapses `consentExpiry` days after `consentDate`."""
    def read(value: str) -> SignalState:
        obj = _dict(json_value(value))
        date = _expiry(obj.get("consentDate"))
        days = obj.get("consentExpiry")
        if date is not None and (older_than(date, max_age_s) or (
                isinstance(days, (int, float)) and days > 0 and older_than(date, days * 86_400))):
            return UNKNOWN
        optional = obj.get("optionalCookies")
        if not isinstance(optional, dict):
            return UNKNOWN
        return _site_categories({k: v == "accepted" for k, v in optional.items()
                                 if v in ("accepted", "revoked")}, words)
    return read


def cookieconsent(words: tuple[str, ...], max_age_s: float = float("inf")) -> Reader:
    """orestbida's CookieConsent `cc_cookie`: v3 `{"categories":["necessary","analytics"],
    "consentTimestamp":"2025-…Z","expirationTime":1767…,…}`, v2 `{"level":[…],"revision":0}`.
    It lists the accepted categories only."""
    def read(value: str) -> SignalState:
        obj = _dict(json_value(value))
        expires = _expiry(obj.get("expirationTime"))
        if expires is not None and expires < time.time():
            return UNKNOWN
        stamp = _iso_time(obj.get("lastConsentTimestamp") or obj.get("consentTimestamp"))
        if stamp is not None and older_than(stamp, max_age_s):
            return UNKNOWN
        return _accepted_list(obj.get("categories", obj.get("level")), words)
    return read


_INSITES: dict[str, SignalState] = {"allow": GRANTED, "deny": DENIED, "dismiss": IMPLIED}


def insites(value: str) -> SignalState:
    """Osano's open-source Cookie Consent (Insites/Silktide `cookieconsent2`/3) `cookieconsent_status=
    allow|deny|dismiss`, and its v4 per-category `cookieconsent_status_MARKETING=ALLOW|DENY|DISMISS`.
    `dismiss` closed a notice without a choice: implied."""
    return _INSITES.get(pct(value).strip().lower(), UNKNOWN)


def drupal_agreed(value: str) -> SignalState:
    """Drupal's EU Cookie Compliance `cookie-agreed`: 0 disagreed, 1 or 2 agreed. With categories,
    `cookie-agreed-categories` decides as well (a refusal there wins)."""
    return {"0": DENIED, "1": GRANTED, "2": GRANTED}.get(pct(value).strip(), UNKNOWN)


def drupal_categories(words: tuple[str, ...]) -> Reader:
    """`cookie-agreed-categories=["essential","marketing"]`: the accepted categories only."""
    def read(value: str) -> SignalState:
        return _accepted_list(json_value(value), words)
    return read


def _shopify(cmp: dict[str, Any], purposes: dict[str, Any], sale_region: bool) -> SignalState:
    """The visitor's own choice decides: marketing (`m`) accepted or declined, and a declined sale
    or sharing of data (`s`) is an opt-out that wins. Without a choice, `purposes` is what the
    shop allows by default in the visitor's region: marketing allowed is implied consent; sale of
    data not allowed in a sale-of-data region (a US state; GPC is recorded this way) is an opt-out."""
    if _no(cmp.get("s")) or _no(cmp.get("m")):
        return DENIED
    if _yes(cmp.get("m")):
        return GRANTED
    if sale_region and purposes.get("t") is False:
        return DENIED
    return IMPLIED if purposes.get("m") is True else UNKNOWN


def _yes(v: object) -> bool:
    return v is True or v == "1"


def _no(v: object) -> bool:
    return v is False or v == "0"


# -- standards -----------------------------------------------------------------------------

def tcf_state(core: TCCore, purposes: int, vendor_ids: tuple[int, ...] = (),
              max_age_s: float = float("inf")) -> SignalState:
    """A TC string records the visitor's choices: the needed purposes (a mask) and, when the
    vendor ids are known, consent for those vendors with the publisher's restrictions on those
    purposes honoured — type 0 (not allowed) denies, type 2 (legitimate interest only) needs the
    purpose's and the vendors' legitimate-interest bits instead of the purpose's consent. A grant
    older than `max_age_s` (by its `LastUpdated`) is not current."""
    li_only = 0  # purposes the publisher allows TikTok only under legitimate interest
    if vendor_ids:
        if not all(core.vendor_consent(v) for v in vendor_ids):
            return DENIED
        for purpose, rtype, vendors in core.pub_restrictions():
            if not purposes >> (24 - purpose) & 1 or not any(v in vendors for v in vendor_ids):
                continue
            if rtype == 0:
                return DENIED  # the publisher does not allow this purpose for TikTok
            if rtype == 2:
                li_only |= 1 << (24 - purpose)
    if not core.has_purposes(purposes & ~li_only):
        return DENIED
    if li_only and not (all(p in core.purposes_li for p in range(1, 25) if li_only >> (24 - p) & 1)
                        and all(core.vendor_li(v) for v in vendor_ids)):
        return DENIED  # legitimate interest not established, or the visitor objected to it
    if older_than(core.last_updated_ds / 10, max_age_s):
        return UNKNOWN
    return GRANTED


def tcf(purposes: tuple[int, ...], vendor_ids: tuple[int, ...], max_age_s: float = float("inf")) -> Reader:
    mask = purpose_mask(purposes)

    def read(value: str) -> SignalState:
        return tcf_state(decode_core(pct(value)), mask, vendor_ids, max_age_s)
    return read


_USP_STATE: dict[str, SignalState] = {"Y": DENIED, "N": IMPLIED}


def usp_state(usp: USPString) -> SignalState:
    return _USP_STATE.get(usp.opt_out_sale, UNKNOWN)


def usp(value: str) -> SignalState:
    text = pct(value).strip()
    if USP_PLAIN.fullmatch(text):  # the usual `1YNN`: the opt-out letter is all we need
        return _USP_STATE.get(text[2].upper(), UNKNOWN)
    return usp_state(parse_usp(text))


def gpp(purposes: tuple[int, ...], vendor_ids: tuple[int, ...], honour_gpc: bool,
        max_age_s: float = float("inf")) -> Reader:
    mask = purpose_mask(purposes)

    def us(fields: tuple[int, ...], gpc_bit: bool) -> SignalState:
        if 1 in fields or (honour_gpc and gpc_bit):
            return DENIED
        applicable = [f for f in fields if f]
        return IMPLIED if applicable and all(f == 2 for f in applicable) else UNKNOWN

    def read(value: str) -> SignalState:
        g = decode_gpp(pct(value))
        states: list[SignalState] = []
        if (n := g.usnat()) is not None:
            states.append(us((n.sale, n.sharing, n.targeted_advertising), n.gpc))
        if (c := g.usca()) is not None:
            states.append(us((c.sale, c.sharing), c.gpc))
        if (u := g.uspv1()) is not None:
            states.append(usp_state(u))
        if (t := g.tcfeuv2()) is not None:
            states.append(tcf_state(t, mask, vendor_ids, max_age_s))
        if DENIED in states:
            return DENIED
        for state in (GRANTED, IMPLIED):
            if state in states:
                return state
        return UNKNOWN
    return read


def custom(rule: CustomRule) -> Reader:
    granted = re.compile(rule.granted) if rule.granted else None
    denied = re.compile(rule.denied) if rule.denied else None

    def read(value: str) -> SignalState:
        if rule.json_path:
            try:
                found = json_path(json_value(value), rule.json_path)
            except KeyError:
                return UNKNOWN
            text = found if isinstance(found, str) else json.dumps(found)
            if denied and denied.fullmatch(text):
                return DENIED
            return GRANTED if granted and granted.fullmatch(text) else UNKNOWN
        text = pct(value)
        if denied and denied.search(text):
            return DENIED
        return GRANTED if granted and granted.search(text) else UNKNOWN
    return read


@dataclass(frozen=True, slots=True)
class CookieReader:
    source: str  # "cmp:cookie-name": what an operator sees in the events log
    read: Reader


def readers(s: ConsentSettings) -> tuple[dict[str, list[CookieReader]], dict[str, list[CookieReader]]]:
    """(exact cookie name → readers, cookie-name prefix → readers) for the enabled signals."""
    age = s.max_age_days * 86_400
    table: dict[str, list[tuple[str, Reader]]] = {
        "onetrust": [("OptanonConsent", onetrust(s.onetrust_groups, s.honour_gpc, age, s.onetrust_vendors))],
        "cookiebot": [("CookieConsent", cookiebot(s.tcf_purposes, s.vendor_ids, age))],
        "cookieyes": [("cookieyes-consent", cookieyes)],
        "complianz": [("cmplz_marketing", complianz), ("cmplz_rt_marketing", complianz)],
        "didomi": [("didomi_token", didomi(s.didomi_purposes, s.didomi_vendors))],
        "borlabs": [("borlabs-cookie", borlabs(s.borlabs_groups))],
        "iubenda": [("_iub_cs-*", iubenda(s.iubenda_purposes))],
        "cookiefirst": [("cookiefirst-consent", cookiefirst)],
        "axeptio": [("axeptio_cookies", axeptio(s.axeptio_vendors)),
                    ("axeptio_authorized_vendors", axeptio_authorized(s.axeptio_vendors))],
        "klaro": [("klaro", klaro(s.klaro_services))],
        "shopify": [("_tracking_consent", shopify_tracking), ("_cmp_a", shopify_cmp_a)],
        "tcf": [("euconsent-v2", tcf(s.tcf_purposes, s.vendor_ids, age))],
        "usp": [("usprivacy", usp)],
        "gpp": [(name, gpp(s.tcf_purposes, s.vendor_ids, s.honour_gpc, age))
                for name in ("__gpp", "OTGPPConsent")],
        "cookielawinfo": [("cookielawinfo-checkbox-advertisement", cookielawinfo_checkbox),
                          ("CookieLawInfoConsent", cookielawinfo_consent)],
        "trustarc": list(zip(("notice_gdpr_prefs", "notice_preferences", "cmapi_cookie_privacy"),
                             trustarc(s.trustarc_category), strict=True)),
        "osano": [("osano_consentmanager", osano)],
        "ketch": [("_ketch_consent_v1_", ketch(s.ketch_purposes))],
        "tealium": [("CONSENTMGR", tealium(s.tealium_categories, age))],
        "orejime": [("orejime", klaro(s.orejime_services))],
        "fundingchoices": [("FCCDCF", funding_choices(s.tcf_purposes, s.vendor_ids, age))],
        "cookieinformation": [("CookieInformationConsent", cookie_information(s.cookieinformation_categories, age))],
        "commandersact": [("TC_PRIVACY", commanders_act(s.commandersact_categories, age))],
        "usercentrics": [("uc_settings", usercentrics(s.usercentrics_services)),
                         ("uc_tcf", usercentrics_tcf(s.tcf_purposes, s.vendor_ids, age))],
        "hubspot": [("__hs_cookie_cat_pref", hubspot), ("__hs_opt_out", hubspot_opt_out)],
        "bigcommerce": [("bc_consent", bigcommerce)],
        "wix": [("consent-policy", wix)],
        "cookiescript": [("CookieScriptConsent", cookiescript)],
        "moove": [("moove_gdpr_popup", moove(s.moove_categories))],
        "segment": [("tracking-preferences", segment_preferences)],
        "cookienotice": [("cookie_notice_accepted", cookie_notice)],
        "civic": [("CookieControl", civic(s.ad_categories, age))],
        "cookieconsent": [("cc_cookie", cookieconsent(s.ad_categories, age))],
        "insites": [("cookieconsent_status", insites), ("cookieconsent_status_MARKETING", insites)],
        "drupal": [("cookie-agreed", drupal_agreed), ("cookie-agreed-categories", drupal_categories(s.ad_categories))],
        # consentmanager.net keeps the TC string in `__cmpconsent<id>` / `__cmpconsentx<id>` (v1 strings: unknown)
        "consentmanager": [("__cmpconsent*", tcf(s.tcf_purposes, s.vendor_ids, age))],
    }
    exact: dict[str, list[CookieReader]] = {}
    prefix: dict[str, list[CookieReader]] = {}
    for cmp in dict.fromkeys(s.cmps):
        for cookie, read in table[cmp]:
            target = prefix if cookie.endswith("*") else exact
            target.setdefault(cookie.rstrip("*"), []).append(CookieReader(f"{cmp}:{cookie}", read))
    for rule in s.custom:
        exact.setdefault(rule.cookie, []).append(CookieReader(f"custom:{rule.cookie}", custom(rule)))
    return exact, prefix
