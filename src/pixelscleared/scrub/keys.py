"""Key-name rules: which keys hold personal data whatever their value looks like.

Keys are compared after `normalize_key` (case, separators and accents ignored). A key such as
`billing[address][zip]`, `ep.email` or `user.first_name` is also split into its parts, so
GA4 prefixes and form-style brackets do not hide a personal key. Field names come in many
languages and conventions: English, HTML autocomplete tokens (`cc-csc`, `given-name`, `bday`),
German, French, Spanish, Italian, Dutch, Portuguese, Polish, Scandinavian, Finnish, Turkish,
Romanian, Czech, Hungarian and Indonesian forms.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from pixelscleared.scrub.settings import normalize_key

KEEP: Final = "keep"
AMBIGUOUS_NAME: Final = "name?"
AMOUNT_OR_PERSON: Final = "user?"  # `shipping=4.99` is a cost; `shipping={...}` or "J. Doe, …" a person

# Whole subtree dropped: everything under `user`, `customer`… is about a person.
CONTAINERS: frozenset[str] = frozenset({
    "user", "users", "customer", "customers", "billing", "shipping", "contact", "buyer", "person",
    "profile", "recipient", "member", "userdata", "customerdata", "ud", "visitordata",
    "kunde", "client", "cliente", "klant", "klient", "kund", "rechnungsadresse", "lieferadresse",
    "benutzer", "utilisateur", "usuario", "utente", "gebruiker", "uzytkownik", "anvandare",
    "facturation", "livraison", "facturacion", "envio", "fatturazione", "spedizione",
})

# Path words after which a segment names one person: `/users/8812/orders`, `/profile/jane-doe`,
# `/kunde/K-10023`. Only an id (it has a digit), a name slug or an `@handle` is taken from there —
# route words stay (`/customer/account/login`, `/users/sign_in`, Magento's `/customer/section/load`).
PERSON_PATH_WORDS: frozenset[str] = frozenset({
    "user", "users", "u", "profile", "profiles", "member", "members", "customer", "customers", "people", "person",
    "account", "accounts", "benutzer", "kunde", "kunden", "mitglied", "usuario", "usuarios", "cliente", "clientes",
    "utilisateur", "utilisateurs", "utente", "utenti", "gebruiker", "klant", "klanten", "uzytkownik", "anvandare",
})

# Containers whose name, as the last part of a key with a number for its value, is an amount:
# GA4's `epn.shipping` and a cart's `billing` total are costs, not a person's address.
AMOUNT_NAMES: frozenset[str] = frozenset({"shipping", "billing", "envio", "livraison", "spedizione"})


def _kinds(table: dict[str, str]) -> dict[str, str]:
    """{"name": "vorname nachname …"} → {"vorname": "name", "nachname": "name", …}."""
    return {word: kind for kind, words in table.items() for word in words.split()}


# Exact (normalised) key → kind. Short or common words that must not match inside other keys.
EXACT: dict[str, str] = _kinds({
    "name": "fname lname fn ln initials additionalname ccname ccgivenname ccfamilyname cardholder "
            "prenom apellido apellidos cognome voornaam achternaam tussenvoegsel sobrenome apelido "
            "nazwisko fornamn efternamn fornavn etternavn efternavn mellemnavn "
            "login loginname userlogin uname nick handle benutzername gebruikersnaam "  # user names
            # Turkish, Romanian, Czech, Hungarian, Finnish, Indonesian, Russian transliterated
            "soyad soyadi adsoyad adisoyadi isim nume prenume jmeno prijmeni vezeteknev keresztnev nev etunimi sukunimi "
            "nama namalengkap imya familiya otchestvo",
    "address": "street address city town addressline1 addressline2 addressline3 addresslevel1 addresslevel2 "
               "addresslevel3 addresslevel4 strasse hausnummer hausnr anschrift adresse ort wohnort stadt "
               "rue ville calle direccion ciudad domicilio indirizzo citta civico straat huisnummer "
               "woonplaats plaats endereco morada rua cidade bairro ulica adres miasto miejscowosc "
               "gatuadress gata adress postort gade vej adresa oras judet ulice mesto obec varos utca osoite "
               "katuosoite kaupunki alamat kota kabupaten sehir ilce mahalle sokak",
    "postcode": "zip zp plz postal postleitzahl codepostal codigopostal cep kodpocztowy postnummer postnr codpostal "
                "psc iranyitoszam postinumero kodepos postakodu",
    "birth_date": "dob db birth bday bdayday bdaymonth bdayyear geburtsdatum geburtstag datedenaissance "
                  "naissance fechadenacimiento nacimiento datadinascita nascita geboortedatum "
                  "datadenascimento nascimento dataurodzenia urodziny fodelsedatum fodselsdato dogumtarihi "
                  "datanasterii datumnarozeni szuletesidatum syntymaaika tanggallahir",
    "phone": "tel telnational tellocal tellocalprefix tellocalsuffix telareacode mobile cell fax ph msisdn uhpn "
             "handy mobil festnetz portable movil celular cellulare cellphone telemovel mobiel gsm komorka puhelin "
             "puhelinnumero nomorhp nohp telepon",
    "email": "em mail courriel correo correoelectronico eposta epost hem uhem",  # hem: a hashed email (Snap u_hem)
    "ip": "ip clientip remoteip userip xforwardedfor",
    # a device's or visitor's position (Segment's `context.location.latitude`, OpenRTB's `geo.lat`)
    "location": "lat lng lon long latitude longitude latlng latlon lnglat geolat geolng geolon geolatitude "
                "geolongitude coords coordinates geocoordinates breitengrad laengengrad latitud longitud "
                "latitudine longitudine breedtegraad lengtegraad szerokosc dlugosc",
    "ssn": "ssn sin nino taxid steuerid steuernummer sozialversicherungsnummer svnr personalausweis "
           "ausweisnummer nir numerosecu securitesociale dni nie nif nss cedula curp rfc rut "
           "codicefiscale partitaiva bsn burgerservicenummer cpf pesel nip personnummer "
           "cprnummer fodselsnummer passport passportnumber passnummer cnp tfn pps ppsn ahv ahvnummer ahvnr hetu "
           "henkilotunnus tckimlik tckimlikno kimlikno nhsnumber rrn rodnecislo",
    "secret": "pwd pass pin auth authorization sessid cookie otp onetimecode newpassword currentpassword "
              "jsessionid phpsessid aspsessionid",
    "card": "cvv cvc csc cccsc ccnumber ccexp ccexpmonth ccexpyear pan kartennummer",
    "iban": "iban kontonummer bankleitzahl blz rekeningnummer",
    "user_id": "uid kundenid "  # `userid`, `customerid`… under any prefix: CONTAINS below
               # email platforms' per-recipient ids in landing-page links: Mailchimp `mc_eid`, Klaviyo
               # `_kx`/`_ke`, Kit `ck_subscriber_id`, Marketo `mkt_tok`, Salesforce `sfmc_sub`, MailerLite,
               # Acoustic `spUserID`, Bronto `_bta_tid`, dotdigital `dm_i`, Vero, Omeda
               "mceid kx ke cksubscriberid mkttok sfmcsub sfmcid subscriberkey mlsubscriber mlsubscriberhash "
               "spuserid btatid dmi veroid olyencid trkcontact hsenc vgoee idfa gaid aaid ifa idfv",
})

# A person container glued to a city (`billing_city`, `shipping_town`, WooCommerce's and Magento's
# checkout fields): the same as `billing[city]`. `city` inside other words (`capacity`) is not one.
EXACT.update({f"{c}{w}": "address" for c in CONTAINERS for w in ("city", "town")})

# The last word of a key of several words (`billing_zip`, Eloqua's `C_City`, `visitor_ip`,
# `place_of_birth`), or the word before a number word (`tel_no`): the key's head noun names what it
# holds, whatever prefix a platform puts before it. Only words that mean nothing else as a key's last
# word — not `mobile` (`is_mobile`) or `name` (`product_name`: decided by context). A word of a thing
# before it (`store_city`, `server_ip`, `destination_city`) makes it a thing's.
HEAD_WORDS: dict[str, str] = _kinds({
    "address": "city town street strasse stadt ort wohnort ville rue calle ciudad citta cidade rua miasto ulica "
               "plaats woonplaats straat postort gata",
    "postcode": "zip zp plz postal cep postnr postnummer",
    "birth_date": "dob bday birth birthday geburtstag naissance nacimiento nascita",
    "phone": "tel fax msisdn",
    "email": "mail",
    "ip": "ip",
    "name": "fname lname",
})
NUMBER_WORDS: frozenset[str] = frozenset({"no", "nr", "number", "num", "nummer", "numero"})

# Normalised key containing this → kind. Checked in order (`emailaddress` is email, not address).
CONTAINS: tuple[tuple[str, str], ...] = (
    ("email", "email"), ("phone", "phone"), ("telephone", "phone"), ("mobilenumber", "phone"),
    ("whatsapp", "phone"), ("telefon", "phone"), ("telefoon", "phone"), ("handynummer", "phone"),
    ("mobilnummer", "phone"), ("mobielnummer", "phone"), ("courriel", "email"),
    ("password", "secret"), ("passwd", "secret"), ("passwort", "secret"), ("motdepasse", "secret"),
    ("contrasena", "secret"), ("passcode", "secret"), ("secret", "secret"),
    ("apikey", "secret"), ("token", "secret"), ("session", "secret"), ("credential", "secret"),
    # a platform's id of one person, under its prefix: `shopify_customer_id`, `omnisendContactID`, `crmUserId`
    ("customerid", "user_id"), ("contactid", "user_id"), ("subscriberid", "user_id"), ("memberid", "user_id"),
    ("userid", "user_id"), ("profileid", "user_id"), ("customernumber", "user_id"), ("membernumber", "user_id"),
    ("kundennummer", "user_id"),
    # a device's advertising id (Apple's IDFA, Google's GAID/AAID): follows one person across apps
    ("advertisingid", "user_id"), ("adsid", "user_id"),
    ("ipaddress", "ip"), ("latitude", "location"), ("longitude", "location"), ("geolocation", "location"),
    ("geoposition", "location"), ("gpscoord", "location"),
    ("creditcard", "card"), ("cardnumber", "card"), ("ccnumber", "card"), ("iban", "iban"),
    ("securitycode", "card"), ("cardcode", "card"), ("cardexp", "card"),
    ("cardholder", "name"), ("accountholder", "name"), ("holdername", "name"), ("nameoncard", "name"),
    ("kontoinhaber", "name"), ("titular", "name"),
    ("socialsecurity", "ssn"), ("nationalid", "ssn"), ("taxnumber", "ssn"), ("codicefiscale", "ssn"),
    ("personnummer", "ssn"), ("passportno", "ssn"),
    ("firstname", "name"), ("lastname", "name"), ("fullname", "name"), ("surname", "name"),
    ("givenname", "name"), ("familyname", "name"), ("middlename", "name"), ("maidenname", "name"),
    ("username", "name"), ("displayname", "name"), ("nickname", "name"), ("customername", "name"),
    ("contactname", "name"), ("billingname", "name"), ("shippingname", "name"),
    ("vorname", "name"), ("nachname", "name"), ("familienname", "name"), ("geburtsname", "name"),
    ("prenom", "name"), ("nomdefamille", "name"), ("apellido", "name"), ("cognome", "name"),
    ("voornaam", "name"), ("achternaam", "name"), ("sobrenome", "name"), ("nazwisko", "name"),
    ("fornamn", "name"), ("efternamn", "name"),
    ("address", "address"), ("street", "address"), ("adresse", "address"), ("strasse", "address"),
    ("direccion", "address"), ("indirizzo", "address"), ("endereco", "address"), ("straat", "address"),
    ("postcode", "postcode"), ("postalcode", "postcode"), ("zipcode", "postcode"), ("postleitzahl", "postcode"),
    ("codepostal", "postcode"), ("codigopostal", "postcode"), ("kodpocztowy", "postcode"),
    ("birthdate", "birth_date"), ("dateofbirth", "birth_date"), ("birthday", "birth_date"),
    ("geburts", "birth_date"), ("naissance", "birth_date"), ("nacimiento", "birth_date"),
    ("nascita", "birth_date"), ("geboorte", "birth_date"), ("nascimento", "birth_date"),
    ("urodzenia", "birth_date"), ("fodelse", "birth_date"), ("fodsel", "birth_date"),
)

# Words meaning "name": the key `name` (or `your-name`, `nombre`, `contact[nom]`) is a person's
# name unless its context says it names a thing (THING_CONTAINERS, or the engine's look at siblings).
NAME_WORDS: frozenset[str] = frozenset({"name", "nom", "nombre", "nome", "naam", "imie", "namn", "navn"})

# Under these, or as a word before `name` (`product_name`, `eventName`), a name is a thing's.
THING_CONTAINERS: frozenset[str] = frozenset({
    "contents", "content", "items", "item", "products", "product", "lineitems", "cart", "ecommerce",
    "offers", "offer", "variants", "variant", "categories", "category", "brand", "promotion", "promotions",
    "event", "events", "page", "pages", "screen", "campaign", "campaigns", "creative", "ad", "ads", "adgroup",
    "list", "itemlist", "collection", "plan", "coupon", "discount", "shop", "store", "site", "app", "form",
    "step", "button", "element", "link", "menu", "video", "article", "post", "file", "tag", "tags",
    "channel", "experiment", "variation", "goal", "level", "achievement", "game", "company", "organization",
    "organisation", "business", "merchant", "vendor", "seller", "partner", "affiliate", "method", "payment",
    "tier", "feature", "widget", "section", "module", "template", "theme", "font", "country", "region",
    "language", "currency", "domain", "host", "server", "browser", "device", "os", "platform", "model",
    "color", "colour", "size", "attribute", "option", "field", "param", "parameter", "property", "metric",
    "dimension", "action", "interaction", "trigger", "container", "layer", "audience", "segment",
    "produkt", "artikel", "produit", "producto", "prodotto", "produto", "produkty", "evento", "pagina",
    # travel and places: a flight's or a hotel's city is the product, not where the visitor lives
    "destination", "origin", "departure", "arrival", "hotel", "flight", "venue", "airport", "station",
    "warehouse", "office", "branch",
    # software: the TikTok pixel's and Segment's `context.library` is `{"name": "pixel.js", "version": …}`
    "library", "lib", "sdk", "plugin", "integration", "framework", "package",
})

# Sibling keys that say "this object describes a thing" (an item, an event), so its `name` is not a person.
THING_KEYS: frozenset[str] = frozenset({
    "value", "currency", "price", "quantity", "contentid", "contentids", "contenttype", "sku", "itemid",
    "productid", "eventid", "event", "category", "brand", "variant", "itemcategory", "itembrand",
    "affiliation", "coupon", "discount", "listname", "listid", "promotionid", "creativename",
    "creativeslot", "pagetype", "pagepath", "href", "campaignid", "gtin", "ean", "upc", "mpn",
    "version", "sdkversion",  # a piece of software (`{"name": "analytics.js", "version": "4.1.0"}`)
})

# Product codes: digits that pass Luhn (an EAN-13 can) are still a barcode here, never a card.
PRODUCT_CODES: frozenset[str] = frozenset({
    "gtin", "gtin8", "gtin12", "gtin13", "gtin14", "ean", "ean13", "ean8", "upc", "upca", "barcode",
    "isbn", "isbn10", "isbn13", "mpn", "asin", "sku", "skus", "itemcode", "productcode", "articlenumber",
    "artikelnummer", "artnr", "partnumber", "modelnumber", "itf14",
})

# A key whose last word is one of these holds an id: kept as sent (only the light detectors
# run), since ids of 13–19 digits pass the card check one time in ten (Shopify's variant ids).
ID_WORDS: tuple[str, ...] = ("id", "ids", "variant", "variantid", "sku", "gtin", "ean", "upc")

# Last words that make a key a measure of something (`session_count`), not the thing itself.
MEASURES: frozenset[str] = frozenset({"count", "number", "num", "engaged", "duration", "length", "start", "end",
                                      "time", "timeout", "seconds", "ms", "index", "depth"})

# Form builders that name fields by number: the value is whatever the visitor typed (an address,
# a name, a message) under a key that says nothing — Mailchimp `MMERGE3`, Gravity Forms `input_4.3`,
# WPForms `wpforms[fields][2]`, Formidable `item_meta[12]`, Elementor `form_fields[field_1a2b]`,
# generic `field_7` / `field-7`, and `fields[N][value]` posted as form pairs.
FORM_FIELD = re.compile(
    r"(?i)mmerge\d+(?:\[[^\]]*\])*|input_\d+(?:[._]\d+)*|wpforms\[fields\]\[\d+\](?:\[[^\]]*\])*|"
    r"item_meta\[\d+\](?:\[[^\]]*\])*|form_fields\[field_[^\]]*\](?:\[[^\]]*\])*|field[_-]\d+|fields\[\d+\]\[value\]"
)

_PARTS = re.compile(r"[.\[\]]+")
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[^\W\d_]+")
_CACHE_MAX = 4096


class KeyRules:
    """Decides for a key: keep as-is (KEEP), drop (a kind), ambiguous name, or no rule (None)."""

    def __init__(self, drop_keys: list[str], keep_keys: list[str]):
        self.drop = frozenset(normalize_key(k) for k in drop_keys)
        self.keep = frozenset(normalize_key(k) for k in keep_keys)
        self._cache: dict[str, str | None] = {}

    def rule(self, key: str) -> str | None:
        hit = self._cache.get(key, "")
        if hit != "":
            return hit
        result = self._rule(key)
        if len(self._cache) >= _CACHE_MAX:  # hostile payloads with endless unique keys
            self._cache.clear()
        self._cache[key] = result
        return result

    def _rule(self, key: str) -> str | None:
        full = normalize_key(key)
        raw_parts = [p for p in _PARTS.split(key) if normalize_key(p)]
        parts = [normalize_key(p) for p in raw_parts]
        last = parts[-1] if parts else full
        if full in self.keep:
            return KEEP
        if FORM_FIELD.fullmatch(key):
            return "form_field"  # before the last part's rules: `fields[0][value]` is not a kept `value`
        if last in self.keep:
            return KEEP
        candidates = [full, *parts] if len(parts) > 1 else [full]
        for c in candidates:
            if c in self.drop:
                return "configured"
        if last in PRODUCT_CODES:
            return KEEP
        for c in candidates:
            if c in CONTAINERS:
                return AMOUNT_OR_PERSON if c == last and c in AMOUNT_NAMES else "user"
            if c in EXACT:
                return EXACT[c]
        last_raw = raw_parts[-1] if raw_parts else key
        if "session" in last and self._last_word(last_raw) in MEASURES:
            return None  # `session_count`, `ga_session_number`, `sessionDuration`: a measure, not a session key
        for c in candidates:
            for token, kind in CONTAINS:
                if token in c:
                    return kind
        if last.endswith(ID_WORDS) and self._last_word(last_raw) in ID_WORDS:
            return KEEP  # `variant`, `product_id`, `clientId`: a Luhn-valid id is still an id
        return self._head(last_raw, parts) or self._name(last_raw, parts)

    @staticmethod
    def _head(last_raw: str, parts: list[str]) -> str | None:
        """`billing_zip`, `C_City`, `cfConnectingIP`, `tel_no`: the kind its head word names."""
        words = [normalize_key(w) for w in _WORDS.findall(last_raw)]
        if len(words) > 2 and words[-1] in NUMBER_WORDS:
            words.pop()
        elif len(words) == 2 and words[-1] in NUMBER_WORDS and words[0] in HEAD_WORDS:
            return HEAD_WORDS[words[0]]
        if len(words) < 2 or words[-1] not in HEAD_WORDS:
            return None
        if any(w in THING_CONTAINERS for w in words[:-1]) or any(p in THING_CONTAINERS for p in parts[:-1]):
            return None
        return HEAD_WORDS[words[-1]]

    @staticmethod
    def _last_word(raw: str) -> str:
        words = _WORDS.findall(raw)
        return normalize_key(words[-1]) if words else ""

    @staticmethod
    def _name(last_raw: str, parts: list[str]) -> str | None:
        """`items[0][name]`, `product_name`, `eventName`: a thing's name (None); `name`, `your-name`,
        `contact[nom]`: maybe a person's (AMBIGUOUS_NAME: the engine decides by context)."""
        if not last_raw.isascii():  # `imię` → `imie`, keeping the case that splits `eventName`
            last_raw = "".join(c for c in unicodedata.normalize("NFKD", last_raw) if not unicodedata.combining(c))
        words = [normalize_key(w) for w in _WORDS.findall(last_raw)]
        if not words or words[-1] not in NAME_WORDS:
            return None  # `filename`, `hostname`, written as one word: not a person's name
        if any(p in THING_CONTAINERS for p in parts[:-1]):
            return None
        if any(w in THING_CONTAINERS or w in PRODUCT_CODES for w in words[:-1]):
            return None
        return AMBIGUOUS_NAME

    @staticmethod
    def is_thing_container(key: str) -> bool:
        """A key about a thing: a thing container (`contents`, `brand`), or a word of one in the key
        (`content_name`, `item_brand`, `productCategory`, `page_title`)."""
        if normalize_key(key) in THING_CONTAINERS:
            return True
        return any(normalize_key(w) in THING_CONTAINERS for w in _WORDS.findall(key))

    @staticmethod
    def names_a_thing(sibling_keys: list[str]) -> bool:
        """Siblings of a `name` that describe an item or event (value, sku, category…)."""
        return any(normalize_key(k) in THING_KEYS for k in sibling_keys)
