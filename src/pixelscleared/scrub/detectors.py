"""Content detectors: find personal data inside one string and replace it with `[kind]`.

Detection is by content, not key name, so it runs on every string that can leave. The cost
model is "most strings are clean": substring tests and two small regexes decide whether a
string is worth looking at, and strings found clean are remembered (never the others). Inside
the chain each detector sits behind a cheaper necessary condition (a substring, a hint regex
that its own pattern implies), so a detector that cannot match is not run and results are the
same as without the gates (tests/test_scrub_golden.py pins them). The expensive checks
(phonenumbers, IBAN/Luhn validation, base64 decoding) only run on candidates a regex already
found. The regexes avoid nested unbounded quantifiers, so a hostile string
costs time roughly proportional to its length, and long loops watch the deadline.
"""

from __future__ import annotations

import binascii
import ipaddress
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import iban as stdnum_iban
from stdnum import luhn

from pixelscleared.percent import unquote
from pixelscleared.scrub import addresses, birth_dates, national_ids, person_names

# --- triggers -------------------------------------------------------------------------------
# A string with none of these (see `TextDetectors.scrub`) is returned untouched without
# running any detector: "@", "%", "=", ":", "eyJ", "earer", "EARER", seven digits close together
# or a dotted quad (`_NUMERIC_HINT`), or a base64-like run (`_B64_HINT`).
_B64_HINT = re.compile(r"[A-Za-z0-9+/_-]{11}")
_CLEAN_CACHE_MAX = 16_384  # × ≤ 512 characters: a few MB at most
_CLEAN_CACHE_LEN = 512

# --- detectors ------------------------------------------------------------------------------
_SECRET_KV = re.compile(
    r"(?i)(?<![A-Za-z0-9])((?:password|passwd|pwd|passcode|secret|client_secret|api[_-]?key|"
    r"access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|token|session(?:[_-]?id)?|"
    r"sessid|auth|authorization)\s{0,3}[=:]\s{0,3})(?!\[)(?:(?:bearer|basic)\s+)?[^\s&#\"',;]+"
)
_BEARER = re.compile(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
# The look-behind makes each run of local-part characters scanned once: linear, not quadratic.
# Unicode letters are allowed on both sides (jörg@bücher.de); the TLD is letters or punycode;
# the domain may be an address literal (jane@[192.0.2.1]); the local part may be quoted
# (`"jane doe"@example.com`).
_EMAIL = re.compile(
    r"(?:(?<![\w.%+\-])[\w.%+\-]+|\"[^\"\\\r\n]{1,64}\")(?:@|%40|%2540)"
    r"(?:[\w\-]+(?:\.[\w\-]+)*\.(?:[^\W\d_]{2,63}|xn--[\w\-]{1,59})(?![^\W\d_])|\[[0-9A-Fa-f.:]{3,45}\])",
    re.IGNORECASE,
)
# Spelled out to dodge a filter: `jane (at) example (dot) com`, `jane[at]example.com`,
# `jane @ example . com`, `jane at example dot com`. A plain " at " needs a spelled " dot " too,
# so prose about a domain ("available at amazon.com") is left alone.
_SPELLED_DOT = r"(?:\.|\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+|\s+\.\s+)"
_EMAIL_SPELLED = re.compile(
    r"(?i)(?<![\w.%+\-])[\w.%+\-]{1,64}(?:(?:\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+)[\w%+\-]{1,64}){0,3}(?P<at>\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s*@\s*|\s+at\s+)"
    rf"[\w\-]{{1,63}}(?:{_SPELLED_DOT}[\w\-]{{1,63}}){{1,4}}(?![\w\-])"
)
_SPELLED_HINT = re.compile(r"(?i)[\s(\[{<]at[\s)\]}>]|\s@|@\s")
_SPELLED_DOT_WORD = re.compile(r"(?i)[\s(\[{<]dot[\s)\]}>]|\s\.\s")
_SPELLED_SPLIT = re.compile(_SPELLED_DOT, re.IGNORECASE)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])", re.IGNORECASE)
_CARD = re.compile(r"(?<![\d.,])(?:\d[ -]?){12,18}\d(?![\d])")
_HEX_ID = re.compile(r"[0-9a-f]{32,}|[0-9A-F]{32,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_OR_DASH = frozenset("0123456789abcdefABCDEF-")
_CARD_IIN = re.compile(r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|3(?:0[0-5]|[68])|6(?:011|5|4[4-9]|22)|35")
# A latitude, longitude pair to four or more decimals (about 11 m): where someone is, or lives.
# Fewer decimals (a city's centre, `ll=52.52,13.40`) and lone numbers are not a position.
_COORDS = re.compile(r"(?<![\w.-])(-?\d{1,2}\.\d{4,})[ \t]*,[ \t]*(-?\d{1,3}\.\d{4,})(?![\w.])", re.ASCII)
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
# Not after `;`: `Brand;24.0.0.0` in a browser's version list (GA4's `uafvl`) is a version.
_IPV4 = re.compile(
    r"(?<![\w./;])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\w)"
)
_IPV6 = re.compile(r"(?<!\w)(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?!\w)")
_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{11,}={0,2}")

# Necessary conditions, cheaper than the detector they guard (a detector that cannot match is
# not run). Each is implied by its detector's pattern, so results are the same with or without.
_SECRET_HINT = re.compile(r"(?i)[dehnty]\s{0,3}[=:]")  # every secret key word ends in one of these
_IPV4_HINT = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")  # matches ≤ 2 characters after an address starts
# either of the two above, in one scan (the common digit prefix lets the engine skip to digits)
_NUMERIC_HINT = re.compile(r"\d(?:(?:\D{0,3}+\d){6}|\.\d{1,3}\.\d{1,3}\.\d)")
# A phone candidate holds ≥ 7 digits separated only by these, and it is only looked up when it
# starts with + or 00, follows a phone word, or has a national shape (trunk 0 / NANP layout).
_PHONE_RUN = re.compile(r"\d(?:[().\-\u00a0 ]{0,40}\d){6}")
_PHONE_INTL = re.compile(r"(?<![\w+])(?:\+\s?\(?\d(?:[().\-\u00a0 ]{0,40}\d){6}|00\(?\d(?:[().\-\u00a0 ]{0,40}\d){4})")
_PHONE_TRUNK = re.compile(r"(?<![\w+])\(?0(?:[().\-\u00a0 ]{0,40}\d){6}")
_PHONE_WORD = re.compile(r"(?i)tel|phone|call|mobil|cell|whatsapp|sms|text|fax|nummer|handy|portable|contact|reach|ring"
                         r"|llam|lläm|llám|movil|móvil|celular|appel|chiam|bel |ruf|zadzwo|numero|número"
                         r"|телефон|тел|звон|моб|τηλ|κινητ|هاتف|جوال|اتصل|رقم|موبايل|טלפון|נייד|电话|手机|電話|手機|携帯"
                         r"|전화|휴대폰|फ़ोन|फोन|मोबाइल")
# the same words for ASCII text lower-cased (faster; (?i) also matches ı, ſ and K, which are not ASCII)
_PHONE_WORD_ASCII = re.compile(_PHONE_WORD.pattern[4:])

# Phones: things that are never phone numbers are masked first (same length, so offsets hold).
_NOT_PHONE = re.compile(
    r"(?i)(?=[\da-f])"  # every branch starts with a digit or a hex letter: other positions are skipped fast
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # UUID
    r"|(?<![0-9a-z])[0-9a-f]{16,}(?![0-9a-z])"  # hashes, hex ids
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # ISO 8601
    r"|(?<![\d.])(?:0?[1-9]|[12]\d|3[01])([./])(?:0?[1-9]|[12]\d|3[01])\1(?:19|20)?\d\d(?![\d.])"  # 01.05.2024, 5/1/24
    r"|(?<![\d.])(?:19|20)\d\d([./])(?:0?[1-9]|1[0-2])\2(?:0?[1-9]|[12]\d|3[01])(?![\d.])"  # 2024.05.01
    r"|(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)"  # 12:30:00
    r"|(?<![\d.,])\d{1,3}(?:,\d{3})+\.\d{2}(?![\d.,])|(?<![\d.,])\d{1,3}(?:\.\d{3})+,\d{2}(?![\d.,])"  # prices
    r"|(?<![\d.])\d+\.\d{2}(?![\d.]))"  # 19.99
)
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?<![A-Za-z]-)(?:\+\s?|00)?\(?\d[\d().\-\u00a0 ]{5,40}\d")
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:tel|phone|call|mobile|mobil|cell|whatsapp|sms|text|fax|telefon|nummer|handy|portable|"
    r"contact|reach|ring|ll[aá]m\w*|m[oó]vil|celular|cellulare|appel\w*|chiam\w*|bel|ruf\w*|anruf\w*|"
    r"zadzwo\w*|telefoon\w*|telefone|tel[eé]fono|n[uú]mero|телефон\w*|тел|звон\w*|позвон\w*|моб\w*|τηλ\w*|"
    r"κινητ\w*|هاتف|جوال|اتصل|رقم|موبايل|טלפון|נייד|电话|手机|電話|手機|携帯|전화|휴대폰|फ़ोन|फोन|मोबाइल)"
    r"\W{0,20}(?:\w+\W+){0,3}$"
)
_TEL = re.compile(r"(?i)(?:tel|callto|sms):\s{0,2}$")
_SEVEN_DIGITS = re.compile(r"\d(?:\D{0,3}+\d){6}")  # possessive: giving back a non-digit never helps
_DIGITS = re.compile(r"\d")
_SEP = re.compile(r"[ .\-()\u00a0]")
_NANP = re.compile(r"\(?\d{3}\)?[ .\-\u00a0]{1,2}\d{3}[ .\-\u00a0]\d{4}")
# the same, for "is there one": without the optional "(" (a match after one starts one later), the
# engine skips to digits
_NANP_HINT = re.compile(r"\d{3}\)?[ .\-\u00a0]{1,2}\d{3}[ .\-\u00a0]\d{4}")
_FILE_EXTENSIONS = frozenset(
    ["png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "tif", "tiff", "css", "js", "mjs", "map", "json", "pdf", "mp4", "webm", "mp3", "woff", "woff2", "ttf", "otf"]
)
_MAX_DECODE_ROUNDS = 4
# Tried for a number right after a phone word when the configured regions find none (scrub/regions.py
# adds a region from the event's own hints; this is for text that gives none but the word).
_NAMED_REGIONS = ("ES", "IT", "NL", "BE", "PT", "BR", "PL", "SE", "DK", "NO", "FI", "AT", "CH", "IE", "AU", "NZ",
                  "IN", "MX", "AR", "CO", "CL", "JP", "ZA", "CA", "CN", "KR", "TW", "HK", "SG", "MY", "TH", "ID",
                  "PH", "VN", "TR", "SA", "AE", "EG", "NG", "KE", "RU", "UA", "CZ", "RO", "HU", "GR", "IL", "PK")


class _Patterns:
    r"""The patterns on the hot path, compiled once as written and once with re.ASCII.

    On an ASCII string (the usual case, `str.isascii()` is O(1)) both give the same matches —
    `\d`, `\w`, `\s` and case folding only differ outside ASCII — and the ASCII ones run up
    to 3× faster.
    """

    __slots__ = ("card", "email", "iban", "ipv4", "ipv4_hint", "nanp", "not_phone", "numeric", "phone_candidate",
                 "phone_intl", "phone_run", "phone_trunk", "secret", "seven", "ssn")
    card: re.Pattern[str]
    email: re.Pattern[str]
    iban: re.Pattern[str]
    ipv4: re.Pattern[str]
    ipv4_hint: re.Pattern[str]
    nanp: re.Pattern[str]
    not_phone: re.Pattern[str]
    numeric: re.Pattern[str]
    phone_candidate: re.Pattern[str]
    phone_intl: re.Pattern[str]
    phone_run: re.Pattern[str]
    phone_trunk: re.Pattern[str]
    secret: re.Pattern[str]
    seven: re.Pattern[str]
    ssn: re.Pattern[str]

    def __init__(self, ascii_only: bool):
        hot = {"card": _CARD, "email": _EMAIL, "iban": _IBAN, "ipv4": _IPV4, "ipv4_hint": _IPV4_HINT, "nanp": _NANP_HINT,
               "not_phone": _NOT_PHONE, "numeric": _NUMERIC_HINT, "phone_candidate": _PHONE_CANDIDATE, "phone_intl": _PHONE_INTL,
               "phone_run": _PHONE_RUN, "phone_trunk": _PHONE_TRUNK, "secret": _SECRET_KV, "seven": _SEVEN_DIGITS,
               "ssn": _SSN}
        for name, rx in hot.items():
            setattr(self, name, re.compile(rx.pattern, (rx.flags & ~re.UNICODE) | re.ASCII) if ascii_only else rx)


_UNICODE = _Patterns(False)
_ASCII = _Patterns(True)


class Deadline(Exception):
    """The time budget ran out in the middle of a string."""


def unquote_all(s: str) -> str:
    """Undo percent-encoding, also when applied twice or three times (`%2540` → `@`)."""
    for _ in range(_MAX_DECODE_ROUNDS):
        if "%" not in s:
            break
        d = unquote(s)
        if d == s:
            break
        s = d
    return s


_DISGUISE = re.compile(r"&#(?:(\d{1,7})|[xX]([0-9a-fA-F]{1,6}));?|&commat;|%u([0-9a-fA-F]{4})")
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u2064\u206a-\u206f\ufeff]")


def _undisguise(m: re.Match[str]) -> str:
    code = m.group(1) or m.group(2) or m.group(3)
    if code is None:
        return "@"  # &commat;
    n = int(code, 10 if m.group(1) else 16)
    return chr(n) if 0 < n <= 0x10FFFF and not 0xD800 <= n <= 0xDFFF else m.group()


# Full stops of CJK scripts written where an address has its dots (`jane@example。com`).
_IDEOGRAPHIC_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": ".", "\ufe52": ".",
                                   # and the decimal digits of other scripts (Arabic-Indic `٠٥٠١…`,
                                   # Persian, Devanagari, Bengali, Thai…), which NFKC leaves as they are
                                   **{chr(c): str(unicodedata.digit(chr(c))) for c in range(0x0660, 0x10000)
                                      if unicodedata.category(chr(c)) == "Nd"}})


def undisguise(s: str) -> str:
    """`&#64;`, `&#x40;`, `&commat;` and `%u0040` as the characters they stand for."""
    return _DISGUISE.sub(_undisguise, s) if ("&" in s or "%u" in s) else s


def reveal(s: str) -> str:
    """Text as a reader sees it: `&#64;`, `&#x40;`, `&commat;`, `%u0040`, invisible characters,
    compatibility forms (fullwidth `＠`, NFKC) and ideographic full stops undone, so a disguised
    address is still found."""
    s = undisguise(s)
    if not s.isascii():
        s = unicodedata.normalize("NFKC", _INVISIBLE.sub("", s)).translate(_IDEOGRAPHIC_DOTS)
    return s


class TextDetectors:
    """All content detectors for one configuration, compiled once."""

    def __init__(self, enabled: Iterable[str], custom: dict[str, str], phone_regions: list[str]):
        self.enabled = frozenset(enabled)
        self.custom = [(kind, re.compile(rx)) for kind, rx in custom.items()]
        self.regions = list(phone_regions) or ["ZZ"]  # "ZZ": international numbers only
        self._prefixes = {r: _national_prefix(r) for r in phone_regions}
        self._nanp = {r for r in phone_regions if phonenumbers.country_code_for_region(r) == 1}
        self._trunk_zero = any(p == "0" for p in self._prefixes.values())
        # Strings known to hold nothing, for a full check and for a light one (see `scrub`).
        self.clean: dict[str, None] = {}
        self.clean_light: dict[str, None] = {}
        self.clean_thing: dict[str, None] = {}

    # --- entry point ---------------------------------------------------------------------
    def scrub(self, text: str, kinds: list[str], light: bool = False, deadline: float = float("inf"),
              thing: bool = False) -> str:
        """Return `text` with every finding replaced by `[kind]`; append each kind found.

        `light` runs only the detectors that cannot mistake an id or an amount for personal data
        (email, tokens, secrets); it is used for keys the operator declared safe. `thing`: the text
        describes a product, brand or category — a name pair alone is not a person there.
        Percent-encoded text is examined decoded; if something is found the decoded, redacted
        text is returned, otherwise the original string comes back unchanged (same object).
        """
        clean = self.clean
        if text in clean or (light and text in self.clean_light) or (thing and text in self.clean_thing):
            return text
        if text.isdigit() and text.isascii() and not self.custom and text[:2] != "00" and not _card_digits(text):
            # an order number, a timestamp, an amount: in bare digits only a card can be found (a bare
            # phone number needs `+`/`00`/separators, national ids a letter or a naming word, and
            # base64 of digits never decodes to text) — so the chain runs only for a possible card
            return text
        candidate = unquote_all(text) if "%" in text else text
        # the triggers, inline: this is the cost every new clean string pays
        rx = _ASCII if candidate.isascii() else _UNICODE
        # False when `candidate` has neither seven close digits nor a dotted quad
        numeric = not light and len(candidate) >= 7 and rx.numeric.search(candidate) is not None
        letters = _has_letters(candidate)
        found: list[str] = []
        if (numeric or self.custom or "@" in candidate
                or (not light and (national_ids.HINT.search(candidate)
                                   or (letters and (birth_dates.hint(candidate) or person_names.hint(candidate)
                                                    or (not thing and addresses.hint(candidate))))))
                or "%" in candidate or "=" in candidate or ":" in candidate
                or "eyJ" in candidate or "earer" in candidate or "EARER" in candidate or (light and "+" in candidate)
                or (not light and "," in candidate and "." in candidate and _COORDS.search(candidate) is not None)
                or (len(candidate) >= 8 and _spelled_hint(candidate))):
            out = self._redact(candidate, found, light, deadline, allow_b64=True, seven=numeric, thing=thing,
                               letters=letters)
        elif len(candidate) < 11:
            out = candidate
        elif "asic" in candidate or "ASIC" in candidate:
            # the token detector needs a trigger of its own: here, a base64-like run
            out = self._redact(candidate, found, light, deadline, True, numeric) if _B64_HINT.search(candidate) else candidate
        elif "base64" in self.enabled:
            # triggered at most by a base64-like run, and nothing else in the chain could match
            out = self._base64(candidate, found, light, deadline)
        else:
            out = candidate
        if "&" in out or "%u" in out or not out.isascii():
            # a second look at what is left, undisguised (`&#64;`, fullwidth `＠`, zero-width
            # spaces); like percent-decoding, the revealed text is kept only when it finds something
            revealed = reveal(out)
            if revealed != out:
                more: list[str] = []
                redacted = self._redact(revealed, more, light, deadline, allow_b64=True, thing=thing)
                if more:
                    found += more
                    out = redacted
        if found:
            kinds.extend(found)
            return out
        if light:
            clean = self.clean_light  # only the light detectors ran: not proof for a full check
        elif thing:
            clean = self.clean_thing  # name pairs were not looked for
        if len(text) <= _CLEAN_CACHE_LEN:
            # Only strings with no finding are remembered, so the cache never holds personal data.
            if len(clean) >= _CLEAN_CACHE_MAX:
                clean.clear()
            clean[text] = None
        return text

    # --- the chain -----------------------------------------------------------------------
    def _redact(self, s: str, found: list[str], light: bool, deadline: float, allow_b64: bool,
                seven: bool = True, thing: bool = False, letters: bool = True) -> str:
        """`seven=False`: `s` is known to hold no seven close digits (replacing a finding by a
        marker of ≥ 5 non-digits never creates them, so the number detectors are skipped).
        `letters=False`: `s` has no letter (an id, a timestamp, a number): the detectors that need
        one (words, names, streets, country codes) are skipped until a marker (`[ssn]`) adds some."""
        on = self.enabled
        # substitutions only put ASCII markers in: an ASCII string stays ASCII
        rx = _ASCII if s.isascii() else _UNICODE
        if "secret" in on and letters and ("=" in s or ":" in s) and _SECRET_HINT.search(s):
            s = _sub(rx.secret, s, "secret", found, lambda m: m.group(1) + "[secret]")
        if "token" in on and ("earer" in s or "EARER" in s or "asic" in s or "ASIC" in s):
            s = _sub(_BEARER, s, "token", found)
        if "jwt" in on and "eyJ" in s:
            s = _sub(_JWT, s, "jwt", found)
        if "email" in on:
            if "@" in s or "%40" in s or "%2540" in s:
                s = _sub(rx.email, s, "email", found, _email)
            if _spelled_hint(s):
                s = _sub(_EMAIL_SPELLED, s, "email", found, _spelled_email, retry=True)
        if light:
            # even under a kept key, a number written `+49…` or `tel:…` is a phone number, never an amount
            if "phone" in on and ("+" in s or ":" in s) and rx.seven.search(s) and self._phone_possible(s, rx):
                s = self._phones(s, found, deadline, rx, strong_only=True)
        else:
            # a street before names: `Calle Mayor 1` is an address, not a person called Calle Mayor
            letters = letters or bool(found)
            if "address" in on and not thing and letters and addresses.hint(s):
                s = _sub_spans(s, addresses.find(s), "address", found)
            if "name" in on and letters and person_names.hint(s):
                s = _sub_spans(s, person_names.find(s, pairs=not thing), "name", found)
            if "birth_date" in on and letters and birth_dates.hint(s):
                s = _sub_spans(s, birth_dates.find(s), "birth_date", found)
            has_seven = seven and rx.seven.search(s) is not None
            letters = letters or bool(found)
            if "location" in on and "," in s and "." in s:  # `51.5074 , -0.1278` has no seven close digits
                s = _sub(_COORDS, s, "location", found, _coords)
            if has_seven:
                if "iban" in on and letters:
                    s = _sub(rx.iban, s, "iban", found, _iban)
                if "card" in on:
                    s = _sub(rx.card, s, "card", found, _card)
                if "ssn" in on and ("-" in s or " " in s):  # `123-45-6789`, `123 45 6789`
                    s = _sub(rx.ssn, s, "ssn", found)
            letters = letters or bool(found)
            # without letters only the formats written with "-", "+" or dots remain (CPF, personnummer,
            # CPR, AHV `756.9217.0769.85`)
            if "ssn" in on and (letters or "-" in s or "+" in s or s.count(".") >= 2) and national_ids.HINT.search(s):
                s = _sub_spans(s, national_ids.find(s, letters), "ssn", found)
            letters = letters or bool(found)
            if has_seven and "phone" in on and self._phone_possible(s, rx, letters):
                s = self._phones(s, found, deadline, rx, words=None if letters else False)
            if "ip" in on:
                h = rx.ipv4_hint.search(s) if s.count(".") >= 3 else None  # an address has three dots
                # no address starts before the first hint: search from there, sub only on a hit
                if h is not None and rx.ipv4.search(s, max(0, h.start() - 2)) is not None:
                    s = _sub(rx.ipv4, s, "ip", found, _not_a_version)
                if s.count(":") >= 2:
                    s = _sub(_IPV6, s, "ip", found, _ipv6)
        for kind, pattern in self.custom:
            s = _sub(pattern, s, kind, found)
        if allow_b64 and "base64" in on:
            s = self._base64(s, found, light, deadline)
        return s

    # --- phones --------------------------------------------------------------------------
    def _phone_possible(self, s: str, rx: _Patterns, letters: bool = True) -> bool:
        """False when no candidate in `s` could pass `_phones`' own checks (most digit strings)."""
        if not rx.phone_run.search(s):
            return False
        # each shape's plain necessities first (a `+` or `00`; two separators; a `0`): cheaper than its scan
        return bool(
            (("+" in s or "00" in s) and rx.phone_intl.search(s))
            or (self._nanp and s.count(".") + s.count("-") + s.count(" ") + s.count("\u00a0") >= 2
                and rx.nanp.search(s))
            or (self._trunk_zero and "0" in s and rx.phone_trunk.search(s))
            or (letters and _has_phone_word(s))
        )

    def _phones(self, s: str, found: list[str], deadline: float, rx: _Patterns, strong_only: bool = False,
                words: bool | None = None) -> str:
        """Candidates from a cheap regex; phonenumbers only sees the ones written like phones.

        `strong_only`: only numbers written with a leading `+` or after `tel:`. `words`: whether
        `s` has a phone word at all, when already known (masking only removes characters)."""
        if rx.phone_candidate.search(s) is None:
            return s  # masking only turns characters into "_": it never makes a candidate
        masked = rx.not_phone.sub(lambda m: "_" * len(m.group()), s)
        spans: list[tuple[int, int]] = []
        for i, m in enumerate(rx.phone_candidate.finditer(masked)):
            if i & 255 == 255 and time.perf_counter() > deadline:
                raise Deadline()
            cand = m.group()
            if len(_DIGITS.findall(cand)) < 7:
                continue
            a = m.start()
            # a leading `+` or `tel:` says "phone" plainly: then a number that is only possible
            # (fictional ranges, new allocations) is removed too; otherwise it must be valid
            strong = cand[0] == "+"
            if not strong:
                if words is None:
                    words = _has_phone_word(s)
                before = masked[max(0, a - 40) : a] if words else ""
                strong = bool(before and _TEL.search(before))
                if strong_only and not strong:
                    continue
                named = bool(before and _PHONE_CONTEXT.search(before))
                if not (strong or named or cand.startswith("00") or self._national_shape(cand)):
                    continue
            else:
                named = False
            if time.perf_counter() > deadline:
                raise Deadline()
            found_here = self._phone_spans(masked, a, cand, Leniency.POSSIBLE if strong else Leniency.VALID)
            if not found_here and named and self._plain_number(masked, a, m.end(), cand):
                # "Llámame al 612 34 56 78", "tel. 601 234 567": a phone word says what it is, so the
                # national formats of more countries are tried than the configured ones; the country
                # whose format covers the most of the number wins (`(11) 98765-4321` is Brazilian)
                for region in _NAMED_REGIONS:
                    spans_r = [(b, e) for b, e in self._phone_spans(masked, a, cand, Leniency.VALID, (region,))
                               if _national_form(masked[b:e], region)]
                    if sum(e - b for b, e in spans_r) > sum(e - b for b, e in found_here):
                        found_here = spans_r
            spans.extend(found_here)
        if not spans:
            return s
        out, last = [], 0
        for a, b in _merge(spans):
            out.append(s[last:a])
            out.append("[phone]")
            found.append("phone")
            last = b
        out.append(s[last:])
        return "".join(out)

    @staticmethod
    def _plain_number(text: str, a: int, b: int, cand: str) -> bool:
        """Written as a phone number on its own: 8–12 digits in groups without dots (versions,
        addresses and amounts have them), standing alone between spaces or punctuation."""
        if "." in cand or not 8 <= len(_DIGITS.findall(cand)) <= 12:
            return False
        before = text[a - 1] if a > 0 else " "
        after = text[b] if b < len(text) else " "
        return (before.isspace() or before in ":(") and not (after.isalnum() or after in "./_-")

    def _national_shape(self, cand: str) -> bool:
        if not _SEP.search(cand):
            return False  # a bare digit run is an id, a timestamp or an amount
        if self._trunk_zero and cand.lstrip("(").startswith("0"):
            return True
        return bool(self._nanp and _NANP.search(cand))

    def _phone_spans(self, text: str, offset: int, cand: str, leniency: int,
                     regions: Iterable[str] = ()) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        work = cand
        for region in regions or self.regions:
            for start, end, raw in _phone_matches(work, region, leniency):
                if self._accept(text, offset + start, raw, region):
                    spans.append((offset + start, offset + end))
                    work = work[:start] + "_" * (end - start) + work[end:]
            if len(_DIGITS.findall(work)) < 7:
                break
        return spans

    def _accept(self, text: str, start: int, raw: str, region: str) -> bool:
        """Only numbers written like phone numbers: bare digit runs are ids, not phones."""
        lead = raw.lstrip("( ")
        if lead.startswith(("+", "00")):
            return True
        before = text[max(0, start - 40) : start]
        if _TEL.search(before) or _PHONE_CONTEXT.search(before):
            return True
        if not _SEP.search(raw):
            return False
        if self._prefixes.get(region) == "0" and lead.startswith("0"):
            return True
        return region in self._nanp and bool(_NANP.fullmatch(raw.strip()))

    # --- base64 --------------------------------------------------------------------------
    def _base64(self, s: str, found: list[str], light: bool, deadline: float) -> str:
        out: list[str] = []
        last = 0
        m = _B64.search(s)  # a loop of searches: cheaper than finditer for the usual 0 or 1 token
        while m is not None:
            if time.perf_counter() > deadline:
                raise Deadline()
            decoded = b64decode_text(m.group())
            if decoded is not None:
                inner: list[str] = []
                self._redact(unquote_all(decoded), inner, light, deadline, allow_b64=False)
                if inner:
                    found.append(inner[0])
                    out += (s[last:m.start()], f"[{inner[0]}]")
                    last = m.end()
            m = _B64.search(s, m.end()) if m.end() < len(s) else None
        if not out:
            return s
        out.append(s[last:])
        return "".join(out)


def _national_form(number: str, region: str) -> bool:
    """Written as people of `region` write their numbers: with its trunk prefix (`070 …` in Sweden),
    or a mobile number where mobiles are dialled without one (`138 1234 5678` in China). A digit run
    without the prefix that only happens to be a valid fixed line there (`2024 123 4567` in Egypt) is not."""
    prefix = _national_prefix(region)
    if not prefix or number.lstrip("( ").startswith(prefix):
        return True
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _national_prefix(region: str) -> str:
    """The trunk prefix of national numbers (`0` in GB/DE/FR, `1` in the US), or ""."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return (meta.national_prefix or "") if meta is not None else ""


@lru_cache(maxsize=8192)
def _phone_matches(cand: str, region: str, leniency: int) -> tuple[tuple[int, int, str], ...]:
    """phonenumbers is the costliest check (~0.1 ms); the same candidate is looked up once."""
    return tuple((m.start, m.end, m.raw_string)
                 for m in PhoneNumberMatcher(cand, region, leniency=leniency, max_tries=20))


def _has_letters(s: str) -> bool:
    """Any letter at all: ASCII text without one is its own swapped case (one pass in C). Other
    scripts count as having letters (the safe side)."""
    return not s.isascii() or s.swapcase() != s


def _has_phone_word(s: str) -> bool:
    """A necessary condition for `_TEL` and `_PHONE_CONTEXT` anywhere in `s`."""
    if s.isascii():
        return _PHONE_WORD_ASCII.search(s.lower()) is not None
    return _PHONE_WORD.search(s) is not None


def _sub(rx: re.Pattern[str], s: str, kind: str, found: list[str],
         check: Callable[[re.Match[str]], str | bool] | None = None, retry: bool = False) -> str:
    """`rx.sub` that records each replacement; `check` may veto (False) or build the text;
    `retry`: after a veto, look again from the next character, not after the vetoed match."""
    first = rx.search(s)
    if first is None:  # the common case: one scan, no new string
        return s
    marker = f"[{kind}]"
    out: list[str] = []
    last = 0
    m: re.Match[str] | None = first
    while m is not None:
        rep = marker
        if check is not None:
            verdict = check(m)
            if verdict is False:
                # vetoed: with `retry` a match may still start inside it ("me at jane.doe at gmail.com")
                m = rx.search(s, m.start() + 1 if retry else max(m.end(), m.start() + 1))
                continue
            if isinstance(verdict, str):
                rep = verdict
        found.append(kind)
        out += (s[last:m.start()], rep)
        last = m.end()
        m = rx.search(s, max(last, m.start() + 1))
    if not out:
        return s
    out.append(s[last:])
    return "".join(out)


def _email(m: re.Match[str]) -> bool:
    # `logo@2x.png` is a retina image, not an address: no TLD is a file extension
    return m.group().rpartition(".")[2].lower() not in _FILE_EXTENSIONS


_VERSION_BEFORE = re.compile(r"(?i)(?:\bversion|\bver\.?|\bbuild|\brelease|\bfirmware|\bv)\s*[:#]?\s*$")


def _not_a_version(m: re.Match[str]) -> bool:
    """`version 10.2.3.4`, `build 1.0.0.12`, `v4.2.1.0`: a four-part version, not an address."""
    return _VERSION_BEFORE.search(m.string, max(0, m.start() - 12), m.start()) is None


def _spelled_hint(s: str) -> bool:
    return ("at" in s or "AT" in s or "At" in s or "aT" in s or "@" in s) and _SPELLED_HINT.search(s) is not None


# Mailbox providers: after a plain " at ", their domain is an address even with a real dot
# (`jane.doe at gmail.com`), where a shop's or a brand's is prose ("available at amazon.com").
_MAILBOX_DOMAINS = frozenset("""
gmail googlemail yahoo ymail rocketmail hotmail outlook live msn icloud me mac aol gmx web t-online freenet arcor
posteo mailbox proton protonmail pm tutanota tuta zoho fastmail yandex orange wanadoo free sfr laposte libero
virgilio tiscali alice ziggo kpnmail telenet seznam wp o2 interia onet qq 163 126 naver daum hanmail rediffmail
comcast verizon att sbcglobal btinternet sky virginmedia bigpond optusnet shaw rogers sympatico bluewin hispeed
""".split())


def _spelled_email(m: re.Match[str]) -> bool:
    at = m.group("at")
    if at.strip().lower() == "at" and not _SPELLED_DOT_WORD.search(m.group()):
        domain = m.group()[m.end("at") - m.start():].split(".")
        if domain[0].lower() not in _MAILBOX_DOMAINS:
            return False  # "available at amazon.com": a domain in prose, not an address
    tld = _SPELLED_SPLIT.split(m.group())[-1]
    return tld.isalpha() and 2 <= len(tld) <= 24 and tld.lower() not in _FILE_EXTENSIONS


def _iban(m: re.Match[str]) -> str | bool:
    groups = m.group().split(" ")
    # a trailing word may have been swallowed ("… 00 and"): try shorter runs of groups
    for n in range(len(groups), 0, -1):
        cand = "".join(groups[:n])
        if len(cand) < 15:
            break
        if stdnum_iban.is_valid(cand.upper()):
            rest = " ".join(groups[n:])
            return "[iban]" + (" " + rest if rest else "")
    return False


def _card_digits(digits: str) -> bool:
    """Bare digits that could be a card: 13–19 of them, a card's first digits and its check digit."""
    return 13 <= len(digits) <= 19 and _CARD_IIN.match(digits) is not None and luhn.is_valid(digits)


def _card(m: re.Match[str]) -> bool:
    if not _card_digits(m.group().replace(" ", "").replace("-", "")):
        return False
    text, i, j = m.string, m.start(), m.end()
    # glued to a word without spaces (`OD4111…`, `ORD-4111-1111-…`, `INV_4111…`): an order or
    # invoice number; a card written in groups (`ref4111 1111 1111 1111`) is still a card
    if " " not in m.group():
        k = i - 2 if i >= 2 and text[i - 1] in "-_" else i - 1
        if k >= 0 and text[k].isascii() and text[k].isalpha():
            return False
    # a digit run inside a hex digest or a UUID is part of that id (1 in ~1,200 SHA-256 digests
    # and 1 in ~20,000 UUIDs hold a Luhn-valid run with a card prefix)
    while i > 0 and text[i - 1] in _HEX_OR_DASH:
        i -= 1
    while j < len(text) and text[j] in _HEX_OR_DASH:
        j += 1
    return _HEX_ID.fullmatch(text[i:j].strip("-")) is None


def _coords(m: re.Match[str]) -> bool:
    return abs(float(m.group(1))) <= 90 and abs(float(m.group(2))) <= 180


def _ipv6(m: re.Match[str]) -> bool:
    g = m.group()
    if len(_DIGITS.findall(g)) + sum(c.isalpha() for c in g) < 4:
        return False
    try:
        ipaddress.IPv6Address(g)
    except ValueError:
        return False
    return True


def b64decode_text(tok: str) -> str | None:
    """`base64.urlsafe_b64decode` / `b64decode(validate=True)` without their Python overhead."""
    body = tok.rstrip("=") if tok[-1] == "=" else tok
    n = len(body) % 4
    if n == 1:
        return None
    padded = body + "==" if n == 2 else body + "=" if n == 3 else body
    try:
        if "-" in body or "_" in body:
            raw = binascii.a2b_base64(padded.replace("-", "+").replace("_", "/"))
        else:
            raw = binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error:
        return None
    if raw.isascii():
        text = raw.decode("ascii")
    else:
        # most candidates are not text at all: decode without raising (an exception costs more
        # than the decoding); U+FFFD not written as EF BF BD in the bytes means invalid UTF-8
        text = raw.decode("utf-8", "replace")
        if "\ufffd" in text and text.count("\ufffd") != raw.count(b"\xef\xbf\xbd"):
            return None
    if not text.isprintable():
        return None
    return text


def _sub_spans(s: str, spans: list[tuple[int, int]], kind: str, found: list[str]) -> str:
    if not spans:
        return s
    out: list[str] = []
    last = 0
    for a, b in spans:
        out += (s[last:a], f"[{kind}]")
        found.append(kind)
        last = b
    out.append(s[last:])
    return "".join(out)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        chars[a:b] = "_" * (b - a)
    return "".join(chars)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
