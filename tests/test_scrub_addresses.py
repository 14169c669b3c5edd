"""scrub/addresses.py: a street with its house number, in each language's order, removed from
free text; street names alone, product names and numbers beside ordinary words kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelscleared.scrub import addresses
from pixelscleared.scrub.engine import Scrubber

S = Scrubber()

ADDRESSES = [
    ("please deliver to 12 Baker Street, London", "12 Baker Street"),
    ("ship to 4 Privet Drive", "4 Privet Drive"),
    ("1600 Pennsylvania Avenue", "1600 Pennsylvania Avenue"),
    ("Leave with neighbour at 14 Elm Grove", "14 Elm Grove"),
    ("Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),  # the postcode and its town go too
    ("Ich wohne in der Goethestr. 12a", "Goethestr. 12a"),
    ("Am Markt 3", "Am Markt 3"),
    ("12 rue de la Paix, 75002 Paris", "12 rue de la Paix, 75002 Paris"),
    ("j'habite au 5 avenue Victor Hugo 69003 Lyon", "5 avenue Victor Hugo 69003 Lyon"),  # a name of several words
    ("221B Baker Street, London NW1 6XE, UK", "221B Baker Street, London NW1 6XE"),
    ("350 Fifth Avenue, New York, NY 10118", "350 Fifth Avenue, New York, NY 10118"),
    ("Dorpsstraat 1, 3511 AB Utrecht", "Dorpsstraat 1, 3511 AB Utrecht"),
    ("ul. Marszałkowska 1, 00-624 Warszawa", "ul. Marszałkowska 1, 00-624 Warszawa"),
    ("Storgatan 1, 111 22 Stockholm", "Storgatan 1, 111 22 Stockholm"),
    ("Rua Augusta 100, 1100-053 Lisboa", "Rua Augusta 100, 1100-053 Lisboa"),
    ("Calle Mayor 5, 28013 Madrid. Gracias", "Calle Mayor 5, 28013 Madrid"),
    ("Lindenstraße 23, D-80331 München", "Lindenstraße 23, D-80331 München"),
    ("12 Baker Street, 2 parcels please", "12 Baker Street"),  # a number that is no postcode stays
    # Nordic, Hungarian, Romanian, Turkish, Russian, Chinese, Japanese
    ("Vesterbrogade 12, 1620 København V", "Vesterbrogade 12, 1620 København V"),
    ("Karl Johans gate 22, 0159 Oslo", "Karl Johans gate 22, 0159 Oslo"),
    ("Aleksanterinkatu 15, 00100 Helsinki", "Aleksanterinkatu 15, 00100 Helsinki"),
    ("Fő utca 5, 1011 Budapest", "Fő utca 5, 1011 Budapest"),
    ("Strada Lipscani nr. 5, București", "Strada Lipscani nr. 5"),
    ("Atatürk Caddesi No: 12", "Atatürk Caddesi No: 12"),
    ("доставка: ул. Тверская, д. 7", "ул. Тверская, д. 7"),
    ("上海市南京东路100号", "上海市南京东路100号"),
    ("東京都千代田区1丁目2番3号", "1丁目2番3号"),
    ("Calle Mayor 1, Madrid", "Calle Mayor 1"),
    ("Avenida de la Constitución 12", "Avenida de la Constitución 12"),
    ("Via Roma 1, Milano", "Via Roma 1"),
    ("Dorpsstraat 1, Utrecht", "Dorpsstraat 1"),
    ("Rua Augusta 100, Lisboa", "Rua Augusta 100"),
    ("ul. Marszałkowska 1, Warszawa", "ul. Marszałkowska 1"),
    ("Storgatan 1, Stockholm", "Storgatan 1"),
]

NOT_ADDRESSES = [
    "Abbey Road vinyl", "Size 12 Blue Shirt", "Route 66 T-shirt", "Order 1001 shipped", "2 Day Shipping",
    "Platz 1 der Charts", "Calle 13 album", "Via Lattea poster", "version 2.0 release", "Chapter 12 Summary",
    "Buy 2 get 1 free", "50% off Street Wear", "rue 21 store", "3 Piece Set", "Street Fighter 2",
    "Boulevard of Broken Dreams 2004", "10 x Way Cool Stickers", "Champs-Élysées", "Baker Street",
    "Main gate 3", "Gate 12 boarding", "Necktie 2 pack", "Forza Horizon 5", "Sk. 2 pack",
]


@pytest.mark.parametrize(("text", "address"), ADDRESSES)
def test_street_and_number_are_removed(text: str, address: str) -> None:
    assert [text[a:b] for a, b in addresses.find(text)] == [address]
    res = S.scrub_text(text)
    assert address not in res.value and "[address]" in res.value


@pytest.mark.parametrize("text", NOT_ADDRESSES)
def test_street_names_products_and_numbers_are_kept(text: str) -> None:
    assert addresses.find(text) == []
    assert S.scrub_text(text).value == text


def test_in_an_event_and_not_in_a_product_name() -> None:
    res = S.scrub_value({"message": "Bitte an Hauptstraße 5 liefern", "contents": [{"content_name": "12 Abbey Road Poster"}]})
    assert res.value == {"message": "Bitte an [address] liefern", "contents": [{"content_name": "12 Abbey Road Poster"}]}


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(["12", "5a", " ", "\n", ",", "Baker", "Street", "rue", "de la", "Paix", "Via",
                                       "Roma", "Hauptstraße", "Am", "Markt", "ul.", "Calle", "Mayor", "x", "Gül",
                                       "Sokak", "No:", "ул.", "Тверская", "д.", "南京东路", "号", "Fő", "utca",
                                       "Vesterbrogade", "Johans", "gate"]), max_size=10))
def test_the_gate_skips_only_texts_without_an_address(parts: list[str]) -> None:
    text = " ".join(parts)
    ungated = [(m.start(), m.end()) for m in addresses.ADDRESS.finditer(text)]
    assert addresses.find(text) == ungated
