"""scrub/keys.py and the engine's use of key context: field names in many languages and
conventions, name/value pairs, command-style arrays, and when `name` is a person's."""

from __future__ import annotations

import pytest

from pixelscleared.scrub.engine import Scrubber
from pixelscleared.scrub.keys import AMBIGUOUS_NAME, KEEP, KeyRules
from pixelscleared.scrub.settings import normalize_key

S = Scrubber()
RULES = KeyRules([], [])


@pytest.mark.parametrize(("raw", "normal"), [
    ("prénom", "prenom"), ("Straße", "strasse"), ("imię", "imie"), ("förnamn", "fornamn"),
    ("dirección", "direccion"), ("cc-csc", "cccsc"), ("billing[first_name]", "billingfirstname"),
    ("FN-٠٠٠", "fn000"), ("FN-000", "fn000"),  # digits of any script are digits, not dropped: never the key `fn`
])
def test_normalize_key_folds_case_separators_and_accents(raw, normal):
    assert normalize_key(raw) == normal


# (key, kind it is dropped as) — one or more per language and convention
DROPPED = [
    # German
    ("vorname", "name"), ("Nachname", "name"), ("strasse", "address"), ("Straße", "address"), ("plz", "postcode"),
    ("geburtsdatum", "birth_date"), ("telefonnummer", "phone"), ("handy", "phone"), ("steuer_id", "ssn"),
    # French
    ("prénom", "name"), ("nom_de_famille", "name"), ("adresse", "address"), ("code_postal", "postcode"),
    ("ville", "address"), ("date_de_naissance", "birth_date"), ("courriel", "email"), ("portable", "phone"),
    # Spanish
    ("apellido", "name"), ("apellidos", "name"), ("dirección", "address"), ("codigo_postal", "postcode"),
    ("fecha_de_nacimiento", "birth_date"), ("teléfono", "phone"), ("dni", "ssn"), ("correo", "email"),
    # Italian
    ("cognome", "name"), ("indirizzo", "address"), ("codice_fiscale", "ssn"), ("cellulare", "phone"),
    ("data_di_nascita", "birth_date"),
    # Dutch
    ("voornaam", "name"), ("achternaam", "name"), ("woonplaats", "address"), ("telefoonnummer", "phone"),
    ("geboortedatum", "birth_date"), ("bsn", "ssn"),
    # Portuguese
    ("sobrenome", "name"), ("telefone", "phone"), ("endereço", "address"), ("cpf", "ssn"), ("cep", "postcode"),
    ("data_de_nascimento", "birth_date"), ("celular", "phone"),
    # Polish
    ("nazwisko", "name"), ("kod_pocztowy", "postcode"), ("pesel", "ssn"), ("ulica", "address"),
    ("data_urodzenia", "birth_date"),
    # Swedish / Scandinavian
    ("förnamn", "name"), ("efternamn", "name"), ("personnummer", "ssn"), ("postnummer", "postcode"),
    ("födelsedatum", "birth_date"), ("gatuadress", "address"),
    # Turkish, Romanian, Czech, Hungarian, Finnish, Indonesian
    ("soyad", "name"), ("dogum_tarihi", "birth_date"), ("posta_kodu", "postcode"), ("prenume", "name"),
    ("cod_postal", "postcode"), ("prijmeni", "name"), ("psc", "postcode"), ("vezeteknev", "name"),
    ("iranyitoszam", "postcode"), ("sukunimi", "name"), ("postinumero", "postcode"), ("puhelin", "phone"),
    ("nama_lengkap", "name"), ("alamat", "address"), ("tanggal_lahir", "birth_date"), ("nomor_hp", "phone"),
    # HTML autocomplete tokens
    ("cc-name", "name"), ("cc-number", "card"), ("cc-csc", "card"), ("cc-exp", "card"), ("cc-exp-year", "card"),
    ("given-name", "name"), ("family-name", "name"), ("additional-name", "name"), ("street-address", "address"),
    ("address-line1", "address"), ("address-level2", "address"), ("postal-code", "postcode"), ("bday", "birth_date"),
    ("bday-year", "birth_date"), ("tel", "phone"), ("tel-national", "phone"), ("one-time-code", "secret"),
    ("new-password", "secret"),
    # holders and other conventions
    ("cardholder", "name"), ("card_holder_name", "name"), ("account_holder", "name"), ("name_on_card", "name"),
    ("Kontoinhaber", "name"), ("your-email", "email"), ("input_phone", "phone"),
    # a position: Segment's `context.location.latitude`, OpenRTB's `geo.lat`, map widgets
    ("latitude", "location"), ("lng", "location"), ("geo.lat", "location"), ("device_longitude", "location"),
    ("Breitengrad", "location"), ("geolocation", "location"), ("coords", "location"),
    # nested and prefixed
    ("billing[first_name]", "user"), ("customer.name", "user"), ("kunde[vorname]", "user"),
    ("contact[nom]", "user"), ("shipping.address.zip", "user"),
    ("billing_city", "address"), ("shippingTown", "address"), ("customer_city", "address"),
    # a platform's prefix before the head word: Eloqua `C_`, WooCommerce `billing_`, proxies' headers
    ("C_City", "address"), ("C_Zip_Postal", "postcode"), ("billing_zip", "postcode"), ("shipZip", "postcode"),
    ("visitor_ip", "ip"), ("cfConnectingIP", "ip"), ("place_of_birth", "birth_date"), ("tel_no", "phone"),
    ("home_tel_number", "phone"), ("C_Mail", "email"), ("cust_fname", "name"), ("wohn_ort", "address"),
    # one person's id under a platform's prefix, and email platforms' per-recipient link parameters
    ("omnisendContactID", "user_id"), ("shopify_customer_id", "user_id"), ("crmUserId", "user_id"),
    ("loyalty_member_number", "user_id"), ("trk_contact", "user_id"), ("_hsenc", "user_id"), ("vgo_ee", "user_id"),
    ("idfa", "user_id"), ("gaid", "user_id"), ("advertising_id", "user_id"), ("advertisingId", "user_id"),
]


@pytest.mark.parametrize(("key", "kind"), DROPPED)
def test_personal_keys_in_many_languages_are_dropped(key, kind):
    res = S.scrub_value({key: "x7", "event": "Contact"})
    assert key not in res.value, key
    assert [(r.path, r.kind) for r in res.removed] == [(key, kind)]


# keys that sound personal in one language and are ordinary in events: kept
@pytest.mark.parametrize("key", [
    "content_name", "product_name", "eventName", "page_name", "list_name", "item_name", "file_name", "filename",
    "hostname", "company_name", "campaign", "nombre_producto", "sort", "report", "support", "portal",
    "capacity", "via_campaign", "client_id", "cid", "mobile_app", "nomenclature", "gtin",
    "location", "page_location", "long_description", "platform", "translation",
    # a thing's place, not the visitor's: stores, servers, trips
    "store_city", "server_ip", "destination_city", "origin_city", "hotel_city", "ip_country", "is_mobile",
    "zip_file_name", "city_count",
    # analytics ids of a browser, not of a known person
    "user_pseudo_id", "anonymousId", "visitor_id", "session_count",
])
def test_ordinary_keys_stay(key):
    res = S.scrub_value({key: "Summer sale 2026"})
    assert res.value == {key: "Summer sale 2026"}, key


@pytest.mark.parametrize(("key", "rule"), [
    ("name", AMBIGUOUS_NAME), ("your-name", AMBIGUOUS_NAME), ("nombre", AMBIGUOUS_NAME), ("Nom", AMBIGUOUS_NAME),
    ("imię", AMBIGUOUS_NAME), ("naam", AMBIGUOUS_NAME), ("product_name", None), ("eventName", None),
    ("items[0][name]", None), ("campaign.name", None), ("filename", None),
    ("gtin", KEEP), ("ean", KEEP), ("upc", KEEP), ("barcode", KEEP), ("items[0][isbn]", KEEP),
])
def test_key_rules(key, rule):
    assert RULES.rule(key) == rule


@pytest.mark.parametrize(("doc", "kept_name"), [
    ({"name": "Jane Doe", "email": "j@x.example"}, False),                # beside personal data: a person
    ({"name": "Jane Doe"}, False),                                         # no context: a person (safe side)
    ({"contact": {"name": "Jane Doe"}}, False),
    ({"name": "Summer Sale", "value": 10, "currency": "EUR"}, True),     # an event's name
    ({"name": "Blue Pen", "sku": "BP-1", "price": 2.5}, True),           # an item's name
    ({"campaign": {"name": "Black Friday"}}, True),
    ({"page": {"name": "Home"}}, True),
    ({"event": {"name": "signup"}}, True),
    ({"items": [{"name": "Pen", "item_id": "P1"}]}, True),
    ({"context": {"library": {"name": "Pen", "version": "2.1.0"}}}, True),  # the TikTok pixel's own library
    ({"sdk": {"name": "Pen"}}, True),
    ({"plugin_name": "Pen"}, True),
    ({"name": "Pen", "version": "1.2"}, True),                           # software beside its version
    ({"name": "Jane Doe", "version": 3, "email": "j@x.example"}, False),  # a record's version does not excuse an email
    ({"name": "Jane Doe", "value": 10, "phone": "+44 20 7946 0958"}, False),  # item keys do not excuse a phone
])
def test_name_is_a_person_only_in_a_person_context(doc, kept_name):
    out = S.scrub_value(doc).value
    assert ("Summer Sale" in str(out) or "Blue Pen" in str(out) or "Black Friday" in str(out) or "Home" in str(out)
            or "signup" in str(out) or "Pen" in str(out)) is kept_name
    assert "Jane Doe" not in str(out)


def test_hubspot_fields_the_label_decides_the_value():
    doc = {"fields": [
        {"objectTypeId": "0-1", "name": "email", "value": "jane@example.com"},
        {"objectTypeId": "0-1", "name": "firstname", "value": "Jane"},
        {"objectTypeId": "0-1", "name": "lastname", "value": "Doe"},
        {"objectTypeId": "0-1", "name": "mobilephone", "value": "07700 900123"},
        {"objectTypeId": "0-1", "name": "favorite_color", "value": "blue"},
        {"objectTypeId": "0-1", "name": "message", "value": "call me at jane@example.com"},
    ], "context": {"pageUri": "https://shop.example/contact", "pageName": "Contact"}}
    res = S.scrub_value(doc)
    fields = res.value["fields"]
    assert [f["name"] for f in fields] == ["email", "firstname", "lastname", "mobilephone", "favorite_color",
                                          "message"]  # labels kept: they are field names
    assert ["value" in f for f in fields] == [False, False, False, False, True, True]
    assert fields[4]["value"] == "blue" and fields[5]["value"] == "call me at [email]"
    assert {(r.path, r.kind) for r in res.removed} >= {("fields[0].value", "email"), ("fields[1].value", "name"),
                                                       ("fields[3].value", "phone")}
    assert res.value["context"]["pageName"] == "Contact"


@pytest.mark.parametrize("field", [
    {"id": "Email", "value": "jane@example.com"},                  # Marketo-style
    {"field": "Vorname", "value": "Jana"},
    {"key": "cc-number", "value": "4111 1111 1111 1111"},
    {"label": "First Name", "value": "Jane"},                       # a label with a space, known
    {"name": "your-name", "value": "Jane Doe"},                     # CF7's field names
    {"question": "phone", "answer": "555 0100"},
])
def test_name_value_pairs_drop_the_value_the_label_names(field):
    out = S.scrub_value({"form": [field]}).value["form"][0]
    assert set(out) == set(field) - {"value", "answer"}


def test_a_person_record_with_a_value_is_not_taken_for_a_pair():
    out = S.scrub_value({"name": "Jane Doe", "value": 3, "user_id": "u1"}).value
    assert "Jane Doe" not in str(out) and "u1" not in str(out)


@pytest.mark.parametrize(("arr", "expected"), [
    (["set", "user_data", {"email": "a@b.example", "address": {"city": "Paris"}}], ["set", "user_data"]),
    (["set", "user_id", "U-12345"], ["set", "user_id"]),
    (["event", "purchase", {"value": 5, "currency": "EUR"}], ["event", "purchase", {"value": 5, "currency": "EUR"}]),
    (["config", "G-ABC123", {"send_page_view": False}], ["config", "G-ABC123", {"send_page_view": False}]),
    (["email", "sms", "push", "web", "app"], ["email", "sms", "push", "web", "app"]),  # a list of channels
])
def test_command_style_arrays(arr, expected):
    assert S.scrub_value(arr).value == expected
