"""Street addresses in free text: a street word and a house number, in the order each language
writes them (`12 Baker Street`, `Hauptstraße 5`, `12 rue de la Paix`, `Calle Mayor 1`, `Via Roma 1`,
`Dorpsstraat 1`, `Rua Augusta 100`, `ul. Marszałkowska 1`, `Storgatan 1`, `Vesterbrogade 12`,
`Karl Johans gate 22`, `Aleksanterinkatu 15`, `Fő utca 5`, `Strada Lipscani nr. 5`, `Atatürk Caddesi
No: 12`, `ул. Тверская, д. 7`, `南京东路100号`, `1丁目2番3号`).

A street name alone (`Abbey Road`, `Champs-Élysées`) is a place or a product; with a house number
in the language's position it is where someone lives or receives parcels — what a contact form's
message or a delivery note holds. A postcode written right after it goes with it — with the town
around it (`, 80331 München`, `, London NW1 6XE`, `, New York, NY 10118`): a full postcode narrows
the door down to a few dozen, and a `zip` key is dropped too. A town alone after the street stays
(`12 Baker Street, London` → `[address], London`). Not run on a product's name, brand or category
(`12 Abbey Road Edition` there is a record).
"""

from __future__ import annotations

import re

_CAP = r"[A-ZÀ-ÖØ-ÞŁŚŻŹĆŃ][\w'’.-]*"  # a capitalised word (names of streets, saints, people)
_NUM = r"\d{1,5}(?:\s?[a-zA-Z](?![\w]))?(?:[-/]\d{1,4})?"  # 12, 12a, 12 B, 12-14, 12/3

_PATTERNS = [
    # English: number first, then the name and a street type
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:{_CAP}\s+){{1,3}}(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Dr\.?"
    r"|Boulevard|Blvd\.?|Way|Court|Ct\.?|Place|Pl\.?|Terrace|Close|Crescent|Gardens|Square|Sq\.?|Parkway|Pkwy\.?"
    r"|Highway|Hwy\.?|Circle|Mews|Row|Grove)(?![\w])",
    # German, Dutch, Swedish: the street type glued to the name, then the number
    rf"\b[A-ZÄÖÜÅ][a-zäöüßåé-]+(?:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer|steig|chaussee|"
    rf"straat|laan|plein|gracht|kade|singel|dijk|gatan|vägen|gränd|torget|stigen)\s+{_NUM}",
    rf"\b(?:Am|An der|Auf der|Im|In der|Zum|Zur)\s+{_CAP}\s+{_NUM}(?![\w])",
    # Danish, Norwegian, Finnish glued (`Vesterbrogade 12`, `Storgata 1`, `Aleksanterinkatu 15`,
    # `Mannerheimintie 5`); Norwegian and Danish as a word (`Karl Johans gate 22`)
    rf"\b[A-ZÆØÅÄÖ][a-zæøåäöé-]+(?:vej|gade|veien|vei|gata|katu|ntie|eentie)\s+{_NUM}(?![\w])",
    rf"\b(?:{_CAP}\s+){{0,2}}[A-ZÆØÅ][\wæøå]*s\s+(?:gate|gata|vei|veien|vej|gade)\s+{_NUM}(?![\w])",  # not `Main gate 3`
    # Hungarian: name, type, number (`Fő utca 5`, `Andrássy út 12`)
    rf"\b(?:{_CAP}\s+){{1,3}}(?:utca|út|tér|körút|u\.)\s+{_NUM}(?![\w])",
    # Turkish: name, type, `No` and number (`Atatürk Caddesi No: 12`, `Gül Sokak No 5`)
    rf"\b(?:{_CAP}\s+){{1,3}}(?:Sokak|Sokağı|Sok\.|Sk\.|Caddesi|Cad\.|Cd\.|Bulvarı|Blv\.)\s*,?\s*"
    rf"(?:No|Nu|Numara)\s*[:.]?\s*{_NUM}(?![\w])",
    # Russian: type, name, house (`ул. Тверская, д. 7`, `улица Ленина 5`)
    r"(?i:ул\.|улица|пр\.|пр-т|проспект|пер\.|переулок|бульвар|б-р|наб\.|набережная)\s*"
    r"[А-ЯЁ][А-Яа-яЁё.-]*(?:\s+[А-ЯЁ][А-Яа-яЁё.-]*){0,2},?\s*(?:(?i:д\.|дом)\s*)?\d{1,4}[а-я]?(?:/\d{1,4})?(?![\w])",
    # Chinese: road or street and number (`南京东路100号`); Japanese: chōme, banchi, gō (`1丁目2番3号`)
    r"[\u4e00-\u9fff]{1,10}(?:路|街|大道|巷|弄)\s?\d{1,5}\s?号",
    r"\d{1,3}\s?丁目\s?\d{1,4}\s?番(?:地)?\s?\d{1,4}(?:\s?号)?",
    # French: number, street type, name
    r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|allee|impasse|quai|"
    rf"route|cours|square)\s+(?:(?:de|du|des|de la|de l'|d')\s*)?{_CAP}(?:[ \t]+{_CAP}){{0,3}}",
    # Spanish, Italian, Portuguese, Polish: street type, name, number
    rf"(?i:\b(?:calle|c/|avenida|avda\.?|plaza|paseo|camino|carrer|via|viale|piazza|corso|vicolo|largo|rua|"
    rf"travessa|praça|praca|alameda|ul\.|ulica|al\.|aleja|strada|str\.|bulevardul|calea|aleea|șoseaua|soseaua))\s+(?:(?i:de|del|de la|da|do|dos|das|di|della)\s+)?"
    rf"{_CAP}(?:\s+{_CAP}){{0,3}},?\s+(?:(?i:n[ºo°]\.?|nr\.?|num\.?)\s*)?{_NUM}(?![\w])",
]
# Postcodes as each country writes them: 80331, 02118-1234 (DE, FR, ES, IT, US), 1010 / 3511 AB
# (AT, CH, BE, DK, NL), 00-624 (PL), 111 22 (SE), 1100-053 (PT), 01310-100 (BR), NW1 6XE (UK), K1A 0B1 (CA)
_POSTCODE = (r"(?:[A-Z]{1,2}-)?(?:\d{5}(?:-\d{3,4})?|\d{4}(?:-\d{3}|[ \t]?[A-Z]{2}(?![\w]))?|\d{2}-\d{3}|\d{3}[ \t]\d{2}"
             r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)(?![\w])")
_TOWN_WORD = r"[A-ZÀ-ÖØ-ÞŁŚŻŹĆŃ][\w'’]*(?:-[\w'’]+)*"  # no dot: `München. Rückruf` ends at the town
_TOWN = rf"{_TOWN_WORD}(?:[ \t]{_TOWN_WORD}){{0,2}}"
_TAIL = (rf"(?:,?[ \t]+{_POSTCODE}(?:[ \t]+{_TOWN})?"  # `, 80331 München`
         rf"|,[ \t]*{_TOWN},?[ \t]+(?:[A-Z]{{2}}[ \t]+)?{_POSTCODE})")  # `, London NW1 6XE`, `, Austin, TX 78701`
ADDRESS = re.compile("(?:" + "|".join(f"(?:{p})" for p in _PATTERNS) + f")(?:{_TAIL})?")

# Cheap gate: a space, a digit and a fragment of a street word (every pattern needs all three;
# most fresh values — ids, timestamps, hashes — have no space and stop at the first test).
_FRAGMENTS = re.compile(
    r"stre|st\b|st\.|road|rd|aven|ave|lane|ln|driv|dr\b|dr\.|boul|blvd|way|court|ct|place|pl\b|pl\.|terr|close|cres|"
    r"garden|squar|sq|park|highw|hwy|circ|mews|row|grov|stra|str\.|weg|gass|alle|platz|ring|damm|ufer|steig|chau|"
    r"laan|plein|gracht|kade|singel|dijk|gatan|vägen|gränd|torget|stigen|\bam |\ban der|\bauf der|\bim |\bin der|"
    r"\bzum |\bzur |rue|av\.|bd|chemin|impasse|quai|route|cours|calle|c/|avda|plaza|paseo|camino|carrer|via|viale|"
    r"piazza|corso|vicolo|largo|rua|travessa|praça|praca|alameda|ul\.|ulica|al\.|aleja|vej|gade|vei|gata|gate|katu|"
    r"ntie|utca|út|tér|u\.|sok|sk\.|cad|cd\.|bulvar|blv|bulevard|strada|calea|aleea|șos|sos|ул|пр|переул|бульвар|б-р|"
    r"наб|路|街|巷|弄|丁目"
)
_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s")


def hint(text: str) -> bool:
    return ((_SPACE.search(text) is not None or not text.isascii()) and _DIGIT.search(text) is not None
            and _FRAGMENTS.search(text.lower()) is not None)


def find(text: str) -> list[tuple[int, int]]:
    """Spans of street addresses (street and house number, and a postcode after them) in `text`."""
    if not hint(text):
        return []
    return [(m.start(), m.end()) for m in ADDRESS.finditer(text)]
