"""National identity numbers in free text, each checked by its own check digits (python-stdnum).

Formats distinctive by their shape (a Spanish DNI's letter, an Italian codice fiscale, a
Brazilian CPF written `123.456.789-09`, a UK National Insurance number) are found anywhere.
Bare digit runs that any order number could be (a German Steuer-ID, a Dutch BSN, a PESEL, an
Aadhaar) count only after a word that names them (`BSN`, `Steuer-ID`, `PESEL`, `Aadhaar`, …)
within a few words: a check digit alone passes one random number in ten.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum.br import cpf
from stdnum.de import idnr
from stdnum.dk import cpr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.no import fodselsnummer
from stdnum.pl import pesel
from stdnum.se import personnummer

# Words naming an identity number, in the languages of the formats below.
# Compiled once as one alternation behind a word boundary, searched in lower-cased text: the
# boundary lets the engine skip most positions at once (a case-insensitive search is ~10× slower).
CONTEXT = re.compile(
    r"\b(?:steuer|idnr|identifikationsnummer|tax\s*id|bsn|burgerservice|sofi|cpf|pesel|aadhaa?r|uid|nir|"
    r"s[ée]curit[ée]\s+sociale|ins?ee|num[ée]ro\s+de\s+s[ée]cu|personnummer|f[øo]dselsnummer|cpr|nino|"
    r"national\s+insurance|ssn|social\s+security|dni|nie|nif|codice\s+fiscale|pan|personal\s+id|"
    r"national\s+id|id\s*(?:no|number|nr)|ausweis|identit[éey]|identidad|identiteit|"
    r"numer\s+identyfikacyjny|ni\s*(?:no|number|nr)|"
    r"pass(?:port|eport|aporte?|aporto|nummer|\s*-?n(?:r|o))|reisepass|pasaporte|paspoort|paszport)"
)
# Passport numbers have no check digit anywhere: only right after a passport word, and only a
# token with at least five digits (US/UK `123456789`, DE `C01X00T47`, FR `12AB34567`).
PASSPORT_CONTEXT = re.compile(r"\b(?:pass(?:port|eport|aporte?|aporto|nummer|\s*-?n(?:r|o))|reisepass|pasaporte|"
                              r"paspoort|paszport)\b")
_CONTEXT_WINDOW = 40  # characters before a bare number in which its name must appear


def _nino(v: str) -> bool:
    """UK National Insurance number (HMRC's allocation rules; no check digit exists)."""
    v = v.replace(" ", "").upper()
    return (v[0] not in "DFIQUV" and v[1] not in "DFIOQUV" and v[:2] not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"))


def _passport(v: str) -> bool:
    return sum(c.isdigit() for c in v) >= 5


@dataclass(frozen=True)
class IdFormat:
    name: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool]
    needs_context: bool
    context: re.Pattern[str] | None = None  # its own naming words, instead of any id word


def _f(name: str, rx: str, valid: Callable[[str], bool], needs_context: bool,
       context: re.Pattern[str] | None = None) -> IdFormat:
    return IdFormat(name, re.compile(rx), valid, needs_context, context)


_B = r"(?<![\w.\-/])"  # not inside a longer token
_E = r"(?![\w\-/]|\.\d)"

FORMATS: tuple[IdFormat, ...] = (
    _f("gb_nino", _B + r"[A-CEGHJ-PR-TW-Z]{2} \d{2} \d{2} \d{2} [A-D]" + _E, _nino, False),  # as printed
    _f("gb_nino_bare", _B + r"[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D]" + _E, _nino, True),
    _f("es_dni", _B + r"\d{8}-?[A-HJ-NP-TV-Z]" + _E, dni.is_valid, False),
    _f("es_nie", _B + r"[XYZ]-?\d{7}-?[A-HJ-NP-TV-Z]" + _E, nie.is_valid, False),
    _f("it_codice_fiscale", _B + r"[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]" + _E, codicefiscale.is_valid, False),
    _f("br_cpf", _B + r"\d{3}\.\d{3}\.\d{3}-\d{2}" + _E, cpf.is_valid, False),
    _f("in_pan", _B + r"[A-Z]{3}[PCHFATBLJG][A-Z]\d{4}[A-Z]" + _E, pan.is_valid, True),  # no check digit
    _f("se_personnummer", _B + r"(?:19|20)?\d{6}[-+]\d{4}" + _E, personnummer.is_valid, False),
    _f("dk_cpr", _B + r"\d{6}-\d{4}" + _E, cpr.is_valid, False),
    _f("fr_nir", _B + r"[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}" + _E, nir.is_valid, True),
    _f("de_steuer_id", _B + r"\d{2} ?\d{3} ?\d{3} ?\d{3}" + _E, idnr.is_valid, True),
    _f("nl_bsn", _B + r"\d{4}\.?\d{2}\.?\d{3}" + _E, bsn.is_valid, True),
    _f("br_cpf_bare", _B + r"\d{11}" + _E, cpf.is_valid, True),
    _f("pl_pesel", _B + r"\d{11}" + _E, pesel.is_valid, True),
    _f("no_fodselsnummer", _B + r"\d{6} ?\d{5}" + _E, fodselsnummer.is_valid, True),
    _f("se_personnummer_bare", _B + r"(?:19|20)?\d{10}" + _E, personnummer.is_valid, True),
    _f("in_aadhaar", _B + r"[2-9]\d{3} ?\d{4} ?\d{4}" + _E, aadhaar.is_valid, True),
    _f("passport", _B + r"[A-Z0-9]{6,9}" + _E, _passport, True, PASSPORT_CONTEXT),
)

_SHAPED = tuple(f for f in FORMATS if not f.needs_context)
_SHAPED_RX = re.compile("|".join(f"(?P<f{i}>{f.pattern.pattern})" for i, f in enumerate(_SHAPED)))

# What every shaped format's pattern implies (a few characters of each): most digit runs (order
# numbers, timestamps, ids) have none, and this scan is ~5× cheaper than the formats' own.
# Two scans, one per leading character class (an alternation mixing them is slower).
_SHAPED_DIGITS = re.compile(r"\d{3}(?:\d{5}-?[A-Z]|\d{3}[-+]\d{4}|\.\d{3}\.\d{3})")
_SHAPED_LETTERS = re.compile(r"[A-Z](?:[A-Z] \d\d \d\d|[A-Z]{5}\d\d|(?<=[XYZ])-?\d{7})")

# Cheap gate: some format could start here (two capitals before digits, a run of digits, or
# digits and capitals interleaved as in a German passport number `C01X00T47`).
HINT = re.compile(r"[A-Z]{2} ?\d\d|\d[\d ]{5}\d|\d{6}[-+]\d|[XYZ]-?\d{7}|\d{3}\.\d{3}|\d\d[A-Z]\d\d[A-Z]\d")


def _named_before(lower: str, start: int, context: re.Pattern[str] = CONTEXT) -> bool:
    return context.search(lower, max(0, start - _CONTEXT_WINDOW), start) is not None


def _valid(fmt: IdFormat, candidate: str) -> bool:
    try:
        return fmt.valid(candidate)
    except Exception:  # noqa: BLE001 — a validator's surprise is "not this format"
        return False


def find(text: str, letters: bool = True) -> list[tuple[int, int]]:
    """Spans of valid national identity numbers in `text`. `letters=False`: the caller knows `text`
    has no letter, so no naming word and no format with letters can be in it."""
    if not HINT.search(text):
        return []
    spans: list[tuple[int, int]] = []
    lower = text.lower() if letters else text  # same length: str.lower never changes the length of these scripts' text
    named = letters and len(lower) == len(text) and CONTEXT.search(lower) is not None  # else no bare number counts
    if not named:  # the usual case: one pass over the text for every shaped format at once
        if _SHAPED_DIGITS.search(text) is None and (not letters or _SHAPED_LETTERS.search(text) is None):
            return spans
        for m in _SHAPED_RX.finditer(text):
            if _valid(_SHAPED[int((m.lastgroup or "f0")[1:])], m.group()):
                spans.append((m.start(), m.end()))
        return spans
    for fmt in FORMATS:
        for m in fmt.pattern.finditer(text):
            if any(s <= m.start() < e for s, e in spans):
                continue
            if fmt.needs_context and not _named_before(lower, m.start(), fmt.context or CONTEXT):
                continue
            if _valid(fmt, m.group()):
                spans.append((m.start(), m.end()))
    return sorted(spans)
