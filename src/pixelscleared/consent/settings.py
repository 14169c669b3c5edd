"""The `consent:` section of the config: which signals to read and the site-specific ids.

Validated once at load (unknown keys, bad regexes and bad JSON paths are config errors) so
the engine never has to second-guess its settings on the hot path.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pixelscleared.model import COOKIE_NAME, Settings

CmpName = Literal[
    "onetrust", "cookiebot", "cookieyes", "complianz", "didomi", "borlabs", "iubenda",
    "cookiefirst", "axeptio", "klaro", "shopify", "tcf", "usp", "gpp",
    "cookielawinfo", "trustarc", "osano", "ketch", "tealium", "orejime", "fundingchoices",
    "cookieinformation", "commandersact", "usercentrics", "hubspot", "bigcommerce", "wix", "cookiescript",
    "moove", "segment", "cookienotice", "consentmanager", "civic", "cookieconsent", "insites", "drupal",
]
ALL_CMPS: tuple[CmpName, ...] = (
    "onetrust", "cookiebot", "cookieyes", "complianz", "didomi", "borlabs", "iubenda",
    "cookiefirst", "axeptio", "klaro", "shopify", "tcf", "usp", "gpp",
    "cookielawinfo", "trustarc", "osano", "ketch", "tealium", "orejime", "fundingchoices",
    "cookieinformation", "commandersact", "usercentrics", "hubspot", "bigcommerce", "wix", "cookiescript",
    "moove", "segment", "cookienotice", "consentmanager", "civic", "cookieconsent", "insites", "drupal",
)

_PATH_PART = re.compile(r"[^.\s]{1,200}")


class CustomRule(Settings):
    """A site's own consent cookie: a regex on its value, or on one field of its JSON.

    The cookie value is percent-decoded once. Without `json_path` the patterns are searched
    in the whole value; with it they must match the field's value in full (`true`/`false`
    for booleans, numbers as written).
    """

    cookie: str
    granted: str = ""
    denied: str = ""
    json_path: str = ""  # dotted: "consent.ads" or "purposes.5"

    @field_validator("cookie")
    @classmethod
    def _cookie(cls, v: str) -> str:
        if not COOKIE_NAME.fullmatch(v):
            raise ValueError(f"{v!r} is not a cookie name")
        return v

    @field_validator("granted", "denied")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a regular expression: {e}") from None
        return v

    @field_validator("json_path")
    @classmethod
    def _path(cls, v: str) -> str:
        if v and not all(_PATH_PART.fullmatch(p) for p in v.split(".")):
            raise ValueError(f"{v!r} is not a dotted path like 'consent.ads'")
        return v

    @model_validator(mode="after")
    def _one_pattern(self) -> CustomRule:
        if not self.granted and not self.denied:
            raise ValueError("give `granted`, `denied` or both")
        return self


class ConsentSettings(Settings):
    honour_gpc: bool = True
    # Implied/default states (OneTrust before any interaction, Cookiebot `method:'implied'`,
    # CookieYes before any action, USP/GPP "did not opt out") count as a grant only here.
    opt_out_regime: bool = False
    cmps: tuple[CmpName, ...] = ALL_CMPS

    # Site-specific ids. Listed ids that are present must all be granted; at least one must be.
    # Targeting: `C0004`, and `4` in the numeric groups of OneTrust's older cookie (absent on a site of
    # the other kind, so both can be listed)
    onetrust_groups: tuple[str, ...] = ("C0004", "4")
    onetrust_vendors: tuple[str, ...] = ()  # the site's general-vendor id(s) for TikTok (`V12`), if it lists one
    didomi_purposes: tuple[str, ...] = ("cookies", "measure_ad_performance")
    didomi_vendors: tuple[str, ...] = ("c:tiktok*",)  # trailing * = prefix
    klaro_services: tuple[str, ...] = ("tiktok",)
    axeptio_vendors: tuple[str, ...] = ("tiktok",)
    iubenda_purposes: tuple[str, ...] = ("5",)
    borlabs_groups: tuple[str, ...] = ("marketing",)
    tcf_purposes: tuple[int, ...] = (1, 7)
    # TikTok's ids in IAB's Global Vendor List: a TC string grants only with consent for each of
    # them and no publisher restriction against them (docs/consent.md). 986 is "BYTEDANCE PTE.
    # LTD." (TikTok) in the GVL (v2 list 224 of 2023-11-16, v3 list 45 of 2024-03-21); [] reads
    # TC strings for purposes only.
    tcf_vendor_ids: tuple[int, ...] = (986,)
    tcf_vendor_id: int | None = Field(None, ge=1, le=65535)  # one id; kept for existing configs
    # A recorded choice older than this is not a current grant (IAB's 13 months; some regulators
    # say 6): TCF `LastUpdated`, Cookiebot's `utc`, the date in other CMPs' cookies.
    max_age_days: int = Field(390, ge=1, le=3650)
    # Off (0) by default, so the product's rule stands: unknown → minimal at once. When set, events
    # with an unknown verdict wait up to this long for the visitor's answer (consent/grace.py).
    grace_window_s: int = Field(0, ge=0, le=600)
    tealium_categories: tuple[str, ...] = ("c3",)  # Tealium's default "display_ads"
    ketch_purposes: tuple[str, ...] = ("targeted_advertising", "behavioral_advertising", "advertising")
    orejime_services: tuple[str, ...] = ("tiktok",)
    # TrustArc's advertising category, 0-based as in `notice_gdpr_prefs` (required 0, functional 1,
    # advertising 2 in its default set-up; sites with a fourth category may put advertising at 3)
    trustarc_category: int = Field(2, ge=1, le=20)
    cookieinformation_categories: tuple[str, ...] = ("cookie_cat_marketing",)
    # Commanders Act category ids are per site; none = only "accepted every category" grants
    commandersact_categories: tuple[str, ...] = ()
    usercentrics_services: tuple[str, ...] = ("tiktok",)  # part of a service's name, or its id
    # GDPR Cookie Compliance (Moove): `advanced` is its advertising section; sites that put
    # advertising under "third party" list `thirdparty` too
    moove_categories: tuple[str, ...] = ("advanced",)
    # Categories each site names itself (Civic Cookie Control, orestbida's CookieConsent, Drupal's EU
    # Cookie Compliance): one whose name has a word beginning with one of these is the advertising
    # one (`Marketing`, `targetting`, `ads`, `Werbung`, `publicité`); add the site's own name if it differs
    ad_categories: tuple[str, ...] = ("marketing", "advertis", "ads", "targeting", "targetting", "remarketing",
                                      "retargeting", "werbung", "publicid", "publicit", "pubblicit", "reclame",
                                      "advertentie", "markkinointi", "reklam")

    custom: tuple[CustomRule, ...] = ()

    @property
    def vendor_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys((*self.tcf_vendor_ids, *((self.tcf_vendor_id,) if self.tcf_vendor_id else ()))))

    @field_validator("tcf_vendor_ids")
    @classmethod
    def _vendor_ids(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        for i in v:
            if not 1 <= i <= 65535:
                raise ValueError(f"vendor id {i} is not in 1-65535")
        return v

    @field_validator("tcf_purposes")
    @classmethod
    def _purposes(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("list at least one purpose (1-24)")
        for p in v:
            if not 1 <= p <= 24:
                raise ValueError(f"TCF purpose {p} is not in 1-24")
        return v

    @field_validator("onetrust_groups", "klaro_services", "axeptio_vendors", "iubenda_purposes",
                     "borlabs_groups", "didomi_purposes", "tealium_categories", "ketch_purposes", "orejime_services",
                     "cookieinformation_categories", "usercentrics_services", "moove_categories", "ad_categories")
    @classmethod
    def _non_empty(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or not all(s.strip() for s in v):
            raise ValueError("list at least one non-empty id")
        return v
