"""Consent a tracking call carries itself: GA4's Consent Mode, `us_privacy` and `gpp` parameters.

A hit says what the page's consent state was when it fired. These are signals of their own for
that call's events, combined with the cookies by the same rule as everywhere: an explicit denial
anywhere wins. Google's Consent Mode describes consent for Google's storage and ads; its denial
is a denial here too, its grant only an implied one (it counts in an opt-out regime, like a
CMP default), because it was not given for TikTok.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pixelscleared.consent.cmps import DENIED, IMPLIED, UNKNOWN, SignalState, gpp, usp
from pixelscleared.consent.settings import ConsentSettings

# Parameters read from a hit (GA4 `/g/collect`, a pixel beacon's query); nothing else is kept.
PARAMS = ("gcs", "gcd", "npa", "us_privacy", "gpp")
HIT_SOURCE = "hit:{}"  # the signal's name in verdicts: hit:gcs, hit:us_privacy…

# `gcd` letters: the final state of one consent type after the default and any update.
# l: not set; p, q, m, u: denied; t, r, n, v: granted (Google's consent-mode `gcd` encoding).
_GCD_DENIED = frozenset("pqmu")
_GCD_GRANTED = frozenset("trnv")
_GCD_ADS = (2, 6)  # ad_storage and ad_user_data (positions in `13x3x3x3x…`)


def gcs_state(value: str) -> SignalState:
    """`G1xy`: x is ad_storage (1 granted, 0 denied), y analytics_storage."""
    if len(value) >= 3 and value[:2] == "G1" and value[2] in "01":
        return DENIED if value[2] == "0" else IMPLIED
    return UNKNOWN


def gcd_state(value: str) -> SignalState:
    letters = [value[i] for i in _GCD_ADS if i < len(value)]
    if any(c in _GCD_DENIED for c in letters):
        return DENIED
    if letters and all(c in _GCD_GRANTED for c in letters):
        return IMPLIED
    return UNKNOWN


def npa_state(value: str) -> SignalState:
    """`npa=1`: the page asked for non-personalised ads."""
    return DENIED if value.strip() == "1" else UNKNOWN


def readers(settings: ConsentSettings) -> dict[str, Callable[[str], SignalState]]:
    """Parameter → reader, bound to the site's settings once (GPP needs its purposes)."""
    return {"gcs": gcs_state, "gcd": gcd_state, "npa": npa_state, "us_privacy": usp,
            "gpp": gpp(settings.tcf_purposes, settings.vendor_ids, settings.honour_gpc,
                       settings.max_age_days * 86_400)}


def consent_params(params: Mapping[str, str]) -> dict[str, str]:
    """The consent parameters of a hit, for the event to carry (bounded; others are not kept)."""
    return {k: v[:2048] for k in PARAMS if (v := params.get(k))}
