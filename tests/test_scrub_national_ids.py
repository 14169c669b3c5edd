"""scrub/national_ids.py and scrub/birth_dates.py: found with their check digits or context,
and the look-alikes (order numbers, SKUs, dates of orders and sales) kept."""

from __future__ import annotations

import pytest

from pixelscleared.scrub import birth_dates, national_ids
from pixelscleared.scrub.engine import Scrubber

S = Scrubber()


@pytest.mark.parametrize(("text", "number"), [
    ("NINO: AB 12 34 56 C", "AB 12 34 56 C"),                  # UK, as printed
    ("my NI number is AB123456C", "AB123456C"),
    ("DNI 12345678Z", "12345678Z"),                             # Spain
    ("NIE: X1234567L", "X1234567L"),
    ("codice fiscale RSSMRA85T10A562S", "RSSMRA85T10A562S"),   # Italy
    ("CPF 123.456.789-09", "123.456.789-09"),                   # Brazil, formatted: no context needed
    ("meu CPF é 12345678909", "12345678909"),
    ("PAN ABCPE1234F", "ABCPE1234F"),                           # India
    ("Aadhaar 2341 2341 2346", "2341 2341 2346"),
    ("Steuer-ID 65929970489", "65929970489"),                   # Germany
    ("BSN 111222333", "111222333"),                             # Netherlands
    ("PESEL 44051401359", "44051401359"),                       # Poland
    ("personnummer 811228-9874", "811228-9874"),                # Sweden
    ("NIR 1 85 05 78 006 084 91", "1 85 05 78 006 084 91"),    # France
    ("SSN 078-05-1120", "078-05-1120"),
    # shapes of their own, with check digits: found anywhere
    ("CURP GODE561231HDFRRN00", "GODE561231HDFRRN00"),          # Mexico
    ("numéro national 85.07.30-033.28", "85.07.30-033.28"),    # Belgium
    ("henkilötunnus 131052-308T", "131052-308T"),               # Finland
    ("AHV-Nr. 756.9217.0769.85", "756.9217.0769.85"),           # Switzerland
    ("cartão de cidadão 00000000 0 ZZ4", "00000000 0 ZZ4"),     # Portugal
    # digit runs: after their name
    ("CNP 1800101221144", "1800101221144"),                     # Romania
    ("RUT 12.345.678-5", "12.345.678-5"),                       # Chile
    ("TFN 123 456 782", "123 456 782"),                         # Australia
    ("SIN 130 692 544", "130 692 544"),                         # Canada
    ("PPS number 6433435F", "6433435F"),                        # Ireland
    ("ID number 7503305044089", "7503305044089"),               # South Africa
    ("TC Kimlik No 17291716060", "17291716060"),                # Turkey
    ("RRN 971013-9019902", "971013-9019902"),                   # South Korea
    ("身份证 360426199101010071", "360426199101010071"),        # China
    ("NHS number 943 476 5919", "943 476 5919"),                # UK
    ("SV-Nummer 1237 010180", "1237 010180"),                   # Austria
    ("rodné číslo 710319/2745", "710319/2745"),                 # Czechia, Slovakia
    # passports: no check digit anywhere, so only right after a passport word
    ("passport no. X12345678", "X12345678"),
    ("Reisepass: C01X00T47", "C01X00T47"),
    ("mon passeport 12AB34567", "12AB34567"),
    ("pasaporte nº 123456789", "123456789"),
])
def test_national_ids_in_free_text(text, number):
    out = S.scrub_text(text)
    assert number not in out.value and "ssn" in [r.kind for r in out.removed], out.value


@pytest.mark.parametrize("text", [
    "Order 65929970489 shipped",           # a valid Steuer-ID shape, no name before it
    "ref 111222333",                        # elfproef-valid, no BSN before it
    "tracking 44051401359",
    "SKU ABCPE1234X",                       # a PAN shape with no PAN before it
    "SKU AB123456C",                        # a NINO shape, unspaced, no context
    "Total 12345678 units",
    "iPhone 15 Pro 256GB",
    "order 2341 2341 2346 placed",
    "passport holder discount code SUMMER2026",  # fewer than five digits after the passport word
    "Passport cover 2024 edition",
    "SKU 01X00T47",                              # a passport shape with no passport word
    "order 1800101221144 shipped",               # a valid CNP, no name before it
    "invoice 710319/2745",                       # a date and a serial: a reference number
    "ref 971013-9019902",
    "price 12.345.678-5",
    "batch 360426199101010071",
])
def test_look_alikes_without_context_are_kept(text):
    assert S.scrub_text(text).value == text


def test_find_returns_spans_in_order():
    text = "DNI 12345678Z and NIE X1234567L"
    assert [text[a:b] for a, b in national_ids.find(text)] == ["12345678Z", "X1234567L"]


@pytest.mark.parametrize(("text", "date"), [
    ("born on 12 March 1990", "12 March 1990"),
    ("Date of birth: 1990-03-12", "1990-03-12"),
    ("DOB 03/12/1990", "03/12/1990"),
    ("my birthday is March 12th, 1990", "March 12th, 1990"),
    ("geboren am 12.03.1990 in Berlin", "12.03.1990"),
    ("Geburtsdatum: 12.03.1990", "12.03.1990"),
    ("née le 12 mars 1990", "12 mars 1990"),
    ("nacido el 12 de marzo de 1990", "12 de marzo de 1990"),
    ("nato il 12/03/1990", "12/03/1990"),
    ("geboren op 12-03-1990", "12-03-1990"),
    ("nascido em 12 de março de 1990", "12 de março de 1990"),
    ("urodzony 12 marca 1990", "12 marca 1990"),
    ("född 1990-03-12", "1990-03-12"),
    ("I was born on 4th July 1982 in Ohio", "4th July 1982"),
    ("born on the 4th of July 1982", "4th of July 1982"),
    ("née le 1er mars 1985", "1er mars 1985"),
    # without the year, right after the birth word
    ("my birthday is 4 July", "4 July"),
    ("Geburtstag am 4. Juli", "4. Juli"),
    ("mon anniversaire est le 3 mars", "3 mars"),
    ("birthday: July 4th", "July 4th"),
    ("cumpleaños 12 de mayo", "12 de mayo"),
])
def test_birth_dates_after_birth_words(text, date):
    assert [text[a:b] for a, b in birth_dates.find(text)] == [date]
    out = S.scrub_text(text)
    assert date not in out.value and "birth_date" in [r.kind for r in out.removed]


@pytest.mark.parametrize("text", [
    "Order placed 12.03.2024", "Sale ends March 12, 2026", "Bornholm trip 12.03.2026", "born to run 2024 tour",
    "Delivery on 2026-12-24",
    "birthday sale ends 4 July", "Birthday party on May 2026 calendar", "birthday card size 4 marker",
])
def test_other_dates_are_kept(text):
    assert S.scrub_text(text).value == text
