"""National identity numbers in free text, each checked by its own check digits (python-stdnum).

Formats distinctive by their shape (a Spanish DNI's letter, an Italian codice fiscale, a
Brazilian CPF written `123.456.789-09`, a UK National Insurance number) are found anywhere.
Bare digit runs that any order number could be (a German Steuer-ID, a Dutch BSN, a PESEL, an
Aadhaar, a Romanian CNP, a Turkish TC Kimlik, a Chinese resident id…) count only after a word that
names them (`BSN`, `Steuer-ID`, `PESEL`, `Aadhaar`, `CNP`, `身份证`, …) within a few words: a check
digit alone passes one random number in ten.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum.at import vnr
from stdnum.au import tfn
from stdnum.be import nn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.ch import ssn as ch_ssn
from stdnum.cl import rut
from stdnum.cn import ric
from stdnum.cz import rc
from stdnum.de import idnr
from stdnum.dk import cpr
from stdnum.es import dni, nie
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.ie import pps
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.kr import rrn
from stdnum.mx import curp
from stdnum.nl import bsn
from stdnum.no import fodselsnummer
from stdnum.pl import pesel
from stdnum.pt import cc
from stdnum.ro import cnp
from stdnum.se import personnummer
from stdnum.tr import tckimlik
from stdnum.za import idnr as za_idnr

# Words naming an identity number, in the languages of the formats below.
# Compiled once as one alternation behind a word boundary, searched in lower-cased text: the
# boundary lets the engine skip most positions at once (a case-insensitive search is ~10× slower).
CONTEXT = re.compile(
    r"\b(?:steuer|idnr|identifikationsnummer|tax\s*id|bsn|burgerservice|sofi|cpf|pesel|aadhaa?r|uid|nir|"
    r"s[ée]curit[ée]\s+sociale|ins?ee|num[ée]ro\s+de\s+s[ée]cu|personnummer|f[øo]dselsnummer|cpr|nino|"
    r"national\s+insurance|ssn|social\s+security|dni|nie|nif|codice\s+fiscale|pan|personal\s+id|"
    r"national\s+id|id\s*(?:no|number|nr)|ausweis|identit[éey]|identidad|identiteit|"
    r"numer\s+identyfikacyjny|ni\s*(?:no|number|nr)|cnp|cod\s+numeric|rut|run|tfn|tax\s+file|sin|"
    r"social\s+insurance|pps|kimlik|tckn|nhs|sv-?nummer|versicherungsnummer|身份证|resident\s+id|id\s+card|"
    r"c[ée]dula|rfc|curp|rodn[ée]\s+[čc][íi]slo|r\.\s?[čc]\.|rrn|주민등록번호|resident\s+registration|"
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
    # shapes of their own, with check digits: Mexico's CURP, Belgium's national number, Finland's
    # HETU, Switzerland's AHV, Portugal's Cartão de Cidadão
    _f("mx_curp", _B + r"[A-Z]{4}\d{6}[HMX][A-Z]{5}[A-Z\d]\d" + _E, curp.is_valid, False),
    _f("be_nn", _B + r"\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}" + _E, nn.is_valid, False),
    _f("fi_hetu", _B + r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]" + _E, hetu.is_valid, False),
    _f("ch_ahv", _B + r"756\.\d{4}\.\d{4}\.\d{2}" + _E, ch_ssn.is_valid, False),
    _f("pt_cc", _B + r"\d{8} ?\d ?[A-Z]{2}\d" + _E, cc.is_valid, False),
    # a date and a serial: a reference number of that shape (`241203/0042`) is common, so by name only
    _f("kr_rrn", _B + r"\d{6}-\d{7}" + _E, rrn.is_valid, True),
    _f("cz_rc", _B + r"\d{6}/\d{3,4}" + _E, rc.is_valid, True),
    # digit runs an order number could be: only after their name
    _f("ro_cnp", _B + r"[1-9]\d{12}" + _E, cnp.is_valid, True),
    _f("za_idnr", _B + r"\d{13}" + _E, za_idnr.is_valid, True),
    _f("cl_rut", _B + r"\d{1,2}\.?\d{3}\.?\d{3}-?[\dkK]" + _E, rut.is_valid, True),
    _f("au_tfn", _B + r"\d{3} ?\d{3} ?\d{2,3}" + _E, tfn.is_valid, True),
    _f("ca_sin", _B + r"\d{3}[ -]?\d{3}[ -]?\d{3}" + _E, sin.is_valid, True),
    _f("ie_pps", _B + r"\d{7}[A-W][A-IW]?" + _E, pps.is_valid, True),
    _f("tr_tckimlik", _B + r"[1-9]\d{10}" + _E, tckimlik.is_valid, True),
    _f("cn_ric", _B + r"\d{17}[\dX]" + _E, ric.is_valid, True),
    _f("gb_nhs", _B + r"\d{3} ?\d{3} ?\d{4}" + _E, nhs.is_valid, True),
    _f("at_vnr", _B + r"\d{4} ?\d{6}" + _E, vnr.is_valid, True),
    _f("passport", _B + r"[A-Z0-9]{6,9}" + _E, _passport, True, PASSPORT_CONTEXT),
)

_SHAPED = tuple(f for f in FORMATS if not f.needs_context)
_SHAPED_RX = re.compile("|".join(f"(?P<f{i}>{f.pattern.pattern})" for i, f in enumerate(_SHAPED)))

# What every shaped format's pattern implies (a few characters of each): most digit runs (order
# numbers, timestamps, ids) have none, and this scan is ~5× cheaper than the formats' own.
# Two scans, one per leading character class (an alternation mixing them is slower).
_SHAPED_DIGITS = re.compile(r"\d{3}(?:\d{5}-?[A-Z]|\d{3}[-+A-FU-Y]\d{3}|\.\d{3}\.\d{3}|\.\d{4}\.|\d{5} ?\d ?[A-Z]|\d{3}[-/]\d{3})"
                            r"|\d\d\.\d\d\.\d\d-")
_SHAPED_LETTERS = re.compile(r"[A-Z](?:[A-Z] \d\d \d\d|[A-Z]{5}\d\d|(?<=[XYZ])-?\d{7}|[A-Z]{3}\d{6}[HMX])")

# Cheap gate: some format could start here (two capitals before digits, a run of digits, or
# digits and capitals interleaved as in a German passport number `C01X00T47`).
HINT = re.compile(r"[A-Z]{2} ?\d\d|\d[\d ]{5}\d|\d{6}[-+/A-FU-Y]\d|[XYZ]-?\d{7}|\d{3}\.\d{3}|\d\d[A-Z]\d\d[A-Z]\d"
                  r"|\d\d\.\d\d\.\d\d-|\d\.\d{3}\.\d{3}-|[A-Z]{4}\d{6}")


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
