"""scrub/regions.py: national phone formats of the country an event points at."""

from __future__ import annotations

import pytest

from pixelscleared.event import CapturedEvent
from pixelscleared.scrub.engine import Scrubber
from pixelscleared.scrub.event import scrub_event
from pixelscleared.scrub.regions import hint_regions

S = Scrubber()


@pytest.mark.parametrize(("url", "props", "regions"), [
    ("https://tienda.example.es/p", {}, ("ES",)),
    ("https://shop.example.co.uk/", {}, ("GB",)),
    ("https://shop.example.io/", {}, ()),                       # a brand TLD, not a country
    ("https://shop.example.com/", {"country": "nl"}, ("NL",)),
    ("https://shop.example.com/", {"locale": "pt_BR"}, ("BR",)),
    ("https://shop.example.com/", {"currency": "PLN"}, ("PL",)),
    ("https://shop.example.com/", {"currency": "EUR"}, ()),     # many countries
    ("https://shop.example.de/", {"country": "AT", "currency": "CHF"}, ("AT", "DE", "CH")),
    ("not a url", {"country": 7}, ()),
])
def test_hint_regions(url, props, regions):
    assert hint_regions(url, props) == regions


@pytest.mark.parametrize(("url", "props", "number"), [
    ("https://tienda.example.es/contacto", {"message": "llámame al 612 345 678"}, "612 345 678"),
    ("https://negozio.example.it/", {"note": "chiamami al 312 345 6789"}, "312 345 6789"),
    ("https://x.example/", {"country": "BR", "note": "meu celular 11 98765-4321"}, "98765-4321"),
    ("https://winkel.example.nl/", {"note": "bel me op 06 12345678"}, "12345678"),
])
def test_a_national_number_of_the_hinted_country_is_removed(url, props, number):
    res = scrub_event(S, CapturedEvent("Contact", "e1", 0, "collect", url=url, properties=props))
    assert number not in str(res.event.properties) and "phone" in [r.kind for r in res.removed]


def test_without_a_hint_the_configured_regions_decide():
    res = scrub_event(S, CapturedEvent("Contact", "e1", 0, "collect", url="https://shop.example.com/",
                                       properties={"message": "order 612 345 678 shipped"}))
    assert res.event.properties == {"message": "order 612 345 678 shipped"}


def test_regional_scrubbers_are_made_once_and_bounded():
    assert S.with_regions(("ES",)) is S.with_regions(("ES",))
    assert S.with_regions(("US",)) is S  # already configured
