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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


def onetrust(groups: tuple[str, ...]) -> Reader:
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
        if plain:
            consent = dict(pick.findall("," + listed))
        else:
            consent = dict(g.strip().partition(":")[::2] for g in listed.split(",") if ":" in g)
        state = all_listed(consent, groups, yes="1", no="0")
        if state == GRANTED and (count := _OT_INTERACTIONS.search(value)) and count.group(1) == "0":
            return IMPLIED  # the CMP's default, not a choice
        return state
    return read


# Read on the raw value (Cookiebot percent-encodes only some characters: `:` may be `%3A`).
# Patterns start with a literal so the scan runs in C; keys are fixed by Cookiebot.
_CB_MARKETING = re.compile(r"marketing\s*(?::|%3[Aa])\s*(true|false)\b")
_CB_METHOD = re.compile(r"method\s*(?::|%3[Aa])\s*(?:'|%27)?(\w+)")


def cookiebot(value: str) -> SignalState:
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
    if "no" in ads:
        return DENIED
    if not ads or any(v != "yes" for v in ads):
        return UNKNOWN
    action = fields.get("action")
    return IMPLIED if action is not None and action[-1] != "yes" else GRANTED


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


def borlabs(groups: tuple[str, ...]) -> Reader:
    def read(value: str) -> SignalState:
        consents = _dict(json_value(value)).get("consents")
        if not isinstance(consents, dict):
            return UNKNOWN
        # A group the visitor accepted is listed with its services; a refused one is absent.
        return GRANTED if all(consents.get(g) for g in groups) else DENIED
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
    obj = _dict(json_value(value))
    con = obj.get("con")
    cmp = con.get("CMP") if isinstance(con, dict) else None
    if isinstance(cmp, dict) and "m" in cmp:
        return _shopify_m(cmp["m"])
    purposes = obj.get("purposes")
    return _shopify_m(purposes.get("m")) if isinstance(purposes, dict) else UNKNOWN


def shopify_cmp_a(value: str) -> SignalState:
    purposes = _dict(json_value(value)).get("purposes")
    return _shopify_m(purposes.get("m")) if isinstance(purposes, dict) else UNKNOWN


def _shopify_m(m: object) -> SignalState:
    if m is True or m == "1":
        return GRANTED
    if m is False or m == "0":
        return DENIED
    return UNKNOWN


# -- standards -----------------------------------------------------------------------------

def tcf_state(core: TCCore, purposes: int, vendor_id: int | None) -> SignalState:
    """A TC string records the visitor's choices: the needed purposes (a mask) and vendor, or not."""
    if not core.has_purposes(purposes):
        return DENIED
    if vendor_id is not None and not core.vendor_consent(vendor_id):
        return DENIED
    return GRANTED


def tcf(purposes: tuple[int, ...], vendor_id: int | None) -> Reader:
    mask = purpose_mask(purposes)

    def read(value: str) -> SignalState:
        return tcf_state(decode_core(pct(value)), mask, vendor_id)
    return read


_USP_STATE: dict[str, SignalState] = {"Y": DENIED, "N": IMPLIED}


def usp_state(usp: USPString) -> SignalState:
    return _USP_STATE.get(usp.opt_out_sale, UNKNOWN)


def usp(value: str) -> SignalState:
    text = pct(value).strip()
    if USP_PLAIN.fullmatch(text):  # the usual `1YNN`: the opt-out letter is all we need
        return _USP_STATE.get(text[2].upper(), UNKNOWN)
    return usp_state(parse_usp(text))


def gpp(purposes: tuple[int, ...], vendor_id: int | None, honour_gpc: bool) -> Reader:
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
            states.append(tcf_state(t, mask, vendor_id))
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
    table: dict[str, list[tuple[str, Reader]]] = {
        "onetrust": [("OptanonConsent", onetrust(s.onetrust_groups))],
        "cookiebot": [("CookieConsent", cookiebot)],
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
        "tcf": [("euconsent-v2", tcf(s.tcf_purposes, s.tcf_vendor_id))],
        "usp": [("usprivacy", usp)],
        "gpp": [(name, gpp(s.tcf_purposes, s.tcf_vendor_id, s.honour_gpc)) for name in ("__gpp", "OTGPPConsent")],
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
