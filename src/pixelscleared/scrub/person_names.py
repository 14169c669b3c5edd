"""Person names in free text: a dictionary of given names and surnames, used only with context.

The lists in `data/` are the ~16,000 given names and ~42,000 surnames ranked in the top 1,000 /
2,000 of at least one of 27 countries (Americas, Europe, Oceania, South Africa), or the top
300 / 500 of 34 more (Turkey, the Arab world, South Asia, West Africa, East Asia, Eastern
Europe; everyday English words left out) in the `names-dataset` package (Apache-2.0;
`tools/make_name_lists.py` rebuilds them). A name alone
is no evidence — "Paris", "Rose" and "Hilton" are names and also cities, flowers and hotels —
so a name counts only:

1. after words that introduce a person: "my name is", "Name:", "from", "regards,", "Dear",
   a relative or friend ("my husband", "meine Tochter", "mi esposa": then a listed name), a
   title written capitalised ("Mr", "Mrs", "Frau", "Mme", "Sra.", "Mevrouw", "Pani": the word
   after it is a surname, listed or not — except in a product's name; "Miss", "Sr", "Sig",
   "Familie"/"Famille" only before a listed name, `Miss Dior`; "Dr" is none — `Dr. Martens`, `Dr Pepper`),
   "Hi", "I'm", "c/o", "ich heiße", "je m'appelle", "me llamo", "mi chiamo", "mijn naam is",
   "meu nome é", "nazywam się", "jag heter", "jeg hedder", "benim adım", "jmenuji se", "mă numesc",
   "nama saya", "tên tôi là", and in other scripts "меня зовут", "με λένε", "我叫", "私の名前は",
   "제 이름은", "اسمي", "קוראים לי"… After an explicit naming phrase ("my name is",
   "ich heiße", …) the capitalised words that follow are the name whether or not a list has them;
   after the others a listed given name, then the capitalised word after it (its surname); or
2. as a given name followed by a surname, both capitalised, standing alone in lower-case
   text (`order for Jane Doe shipped`): a run of three or more capitalised words is a title
   or a product (`Calvin Klein Eternity Eau De Parfum`), and a pair followed by a place or
   thing word (`Paris Hilton Hotel`, `Jack Daniels Whiskey`) is that place or thing.

Measured on the test corpus of product names, cities, brands and headlines
(tests/test_scrub_person_names.py), no false positive remains; names of brands written in
lower-case prose after a person word ("a gift from Calvin Klein") are still removed.
"""

from __future__ import annotations

import re
from importlib import resources


def _load(name: str) -> frozenset[str]:
    text = resources.files("pixelscleared.scrub").joinpath("data", name).read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line)


GIVEN = _load("given_names.txt")
SURNAMES = _load("surnames.txt")

# Names that are also everyday words, months or colours: never enough on their own (rule 2).
COMMON_WORDS = frozenset("""
may june april august will mark bill rose grace joy hope faith summer autumn winter spring page chase
black white green brown gray grey young king long rich smart gold silver love honey star sky river
lane little hill wood woods stone field ford holiday christmas easter sunday monday friday tuesday
best free new sale price order home shop star rock berry cherry olive ruby amber jade pearl crystal
dawn eve iris lily daisy ivy violet sage basil ginger pepper candy bliss blue red pink
""".split())

# Words after a name pair that make it a place or thing.
THING_AFTER = frozenset("""
hotel hotels street st avenue ave road rd lane drive boulevard blvd square plaza way collection edition
bag bags dress shirt jeans store shop restaurant bar cafe café museum park station airport university
college school hospital bridge center centre tower building hall house brand perfume parfum watch
shoes boots whiskey whisky gin vodka wine beer sauce cream set kit tour show band bay beach valley city
county island islands lake mountain mountains falls springs heights village town port harbour harbor coast
grill mixer blender toaster kettle razor shaver guitar bike jacket bottle mug cup book books novel album
day foundation institute award awards prize memorial trust fund library stadium arena theatre theater festival
lecture fellowship scholarship medal trophy cup league
tribute concert concerts tickets ticket songs song tv movie film films series podcast
candle polo gown sneaker heel powder suit hoodie hamper towel pan knife underwear sock sweater jumper cardigan
coat blazer trouser pant short skirt blouse top tee t-shirt vest bra brief boxer legging pyjama robe scarf hat cap
glove belt wallet purse handbag tote backpack clutch sandal loafer trainer slipper pump flat wedge sunglass
glass eyewear ring necklace bracelet earring jewellery jewelry fragrance cologne eau serum lipstick mascara
foundation concealer blush bronzer palette primer moisturiser moisturizer cleanser toner mask shampoo conditioner
lotion balm oil soap gel spray scent diffuser vase lamp rug cushion pillow duvet sheet bedding blanket throw
towel curtain mirror frame clock chair sofa table desk bed mattress shelf cabinet cookware bakeware saucepan skillet
wok pot tray bowl plate mug glassware cutlery knives utensil gadget appliance oven microwave fridge freezer
dishwasher kettle toaster juicer cake cookie cookies biscuit chocolate candy snack cereal tea coffee mix
recipe recipes cookbook cook book economics guide toy toys game games puzzle doll figure lego phone case charger
cable headphone speaker laptop tablet camera lens printer console bundle edition range line label outlet boutique
card voucher gift giftcard gifts hamper set sets pack bundle
""".split())

# First words of place names: "San Francisco", "Santa Monica", "Saint Louis", "Fort Worth".
PLACE_PREFIXES = frozenset("san santa santo sao são saint st mount mt lake fort port new north south east west "
                           "el la los las le de del hong kuala tel sri ho costa puerto buenos rio".split())

# Cities, regions and days that are also given names: one such word after a person word is a place.
PLACES = frozenset("""
paris london florence victoria sydney austin jackson lincoln madison charlotte orlando phoenix houston
dallas denver chelsea jersey adelaide regina alexandria georgia virginia carolina india china jordan
israel kent devon bristol lyon valencia sofia santiago lima santa monica vienna berlin hamilton
""".split())

_CONTEXT = re.compile(
    r"(?i)(?:(?P<strong>\bmy name is|\bname\s*:|\bmein name ist|\bich hei(?:ß|ss)e|\bje m'appelle|\bmon nom est|"
    r"\bme llamo|\bmi nombre es|\bmi chiamo|\bil mio nome è|\bmijn naam is|\bik heet|\bmeu nome é|\bme chamo|"
    r"\bnazywam się|\bmam na imię|\bjag heter|\bmitt namn är|\bjeg hedder|\bjeg heter|\bmit navn er|\bmitt navn er|"
    r"\bnimeni on|\bbenim adım|\bjmenuji se|\bmenovám sa|\ba nevem|\bmă numesc|\bnumele meu este|\bnama saya|"
    r"\btên tôi là|\bang pangalan ko ay|\bjina langu ni)|"
    r"(?P<title>\b(?-i:Mr|Mrs|Ms|Mx|Herrn|Herr|Frau|Mme|Mlle|Madame|Monsieur|Sra|Srta|Señor|Señora|Signor|Signora|"
    r"Dhr|Mevr|Mevrouw|Meneer|Pani|Fru)\.?(?:[ \t]+(?-i:Dr|Prof|Ing|Mag)\.?)*)|"
    # before a listed name only, but then even one that is also a word (`Miss Grace`, `Grandma Rose`)
    r"(?P<listed>\b(?-i:Miss|Mister|Sr|Sig|Familie|Famille|Familia|Famiglia|Fam|Grandma|Grandpa|Granny|Grandad|"
    r"Grandmother|Grandfather|Nana|Aunt|Auntie|Uncle|Oma|Opa|Tante|Onkel|Mamie|Papy|Abuela|Abuelo|Tía|Tío|Tia|Tio|"
    r"Nonna|Nonno|Zia|Zio|Babcia|Dziadek|Ciocia|Wujek|Mormor|Farmor|Morfar|Farfar)\.?)|"
    r"\b(?:my|our|mein|meine|unser|unsere|mon|ma|mes|mi|mis|mio|mia|mijn|onze|meu|minha|mój|moja|min|mitt)[ \t]+"
    r"(?:husband|wife|son|daughter|mother|mum|mom|father|dad|brother|sister|partner|friend|colleague|boss|"
    r"mann|ehemann|sohn|tochter|mutter|vater|bruder|schwester|freund|freundin|kollege|kollegin|"
    r"mari|femme|fils|fille|m[èe]re|p[èe]re|fr[èe]re|s[œo]eur|ami|amie|"
    r"esposo|esposa|marido|mujer|hijo|hija|madre|padre|hermano|hermana|amigo|amiga|"
    r"marito|moglie|figlio|figlia|fratello|sorella|"
    r"man|vrouw|zoon|dochter|moeder|vader|broer|zus|vriend|vriendin|"
    r"filho|filha|m[ãa]e|pai|irm[ãa]o|irm[ãa]|amiga|"
    r"m[ąa][żz]|[żz]ona|syn|c[óo]rka|matka|ojciec|brat|siostra|"
    r"fru|son|dotter|mamma|pappa|bror|syster)|"
    r"\bhappy birthday|\bhappy anniversary|\bcongratulations|\bcongrats|\bglückwunsch|\balles gute(?: zum geburtstag)?|"
    r"\bjoyeux anniversaire|\bfeliz cumpleaños|\bbuon compleanno|\bgefeliciteerd|\bparabéns|\bwszystkiego najlepszego|"
    r"\bgrattis|\blove,|\bwith love,?|\bxoxo,?|"
    r"\bnamed|\b(?P<weak>from|von|contact|call|ask|tell|e-?mail|message|text|ring|invite|meet|visit|thank|"
    r"(?:ship|deliver|send|give)\s+to|attention|kontaktieren\s+sie|anrufen|appelez|contactez|llame\s+a|"
    r"chiamare|bellen)|\bregards,?|\bthanks,?|\bcheers,?|\bdear|\bhi|\bhello|\bi'm|\bi am|"
    r"\battn\.?:?|\bc/o|\bcontact:|\bsigned,?|\bje suis|\bik ben|\bsou o|\bsou a|\bsono|\bsoy|\bjestem|"
    r"\bmvh,?|\bgrü(?:ß|ss)en?,?|\bcordialement,?|\bsaludos,?|\bun saluto,?|\bgroeten,?|\batenciosamente,?|"
    r"\bpozdrawiam,?|\bhälsningar,?)[ \t]*[:,]?[ \t]+"
)
# Letters of Latin-1, Latin Extended-A and Extended Additional by case: Polish, Czech, Baltic,
# Turkish, Hungarian and Vietnamese names (`Wiśniewska`, `Łukasz`, `Dvořák`, `Şahin`, `Nguyễn`) are words too.
_EXT = [chr(c) for c in (*range(0x100, 0x180), *range(0x1E00, 0x1F00))]  # and Vietnamese `Nguyễn`
_UP = "A-ZÀ-ÖØ-Þ" + "".join(c for c in _EXT if c.isupper())
_LOW = "a-zß-öø-ÿ" + "".join(c for c in _EXT if c.islower())
_WORD = re.compile(rf"(?:[{_UP}]['’])?[{_UP}][{_LOW}]+(?:[{_UP}][{_LOW}]+)?(?:[-'’][{_UP}]?[{_LOW}]+)?(?![\w])")
# Cheap gate: a capitalised word after a space (every rule needs one).
HINT = re.compile(rf"[ \t][{_UP}][{_LOW}]")


# Lower-case particles inside surnames, then the capitalised rest of the surname.
_PARTICLES = re.compile(
    r"(?:[ \t]+(?:van|von|de|der|den|del|della|di|da|das|dos|du|la|le|ten|ter|zu|zur|y|e))+[ \t]+"
    rf"[{_UP}][{_LOW}]+(?:[-'’][{_UP}]?[{_LOW}]+)?(?![\w])"
)


def _fold(word: str) -> str:
    """The lists' spelling: lower case, no apostrophe (`O'Brien` → `obrien`)."""
    low = word.lower()
    return low.replace("'", "").replace("’", "") if "'" in low or "’" in low else low


def _name_word(word: str) -> bool:
    low = word.lower()
    return low in GIVEN or low in SURNAMES or _fold(low) in SURNAMES \
        or any(p in GIVEN or p in SURNAMES for p in re.split(r"[-'’]", low))


_CONTEXT_FRAGMENTS = ("mr", "ms", "mx", "miss", "herr", "frau", "mme", "mlle", "madame", "monsieur", "sr", "señ",
                      "sig", "dhr", "mevr", "meneer", "pani", "fru", "fam", "my ", "our ", "mein", "unser", "mon ",
                      "ma ", "mes ", "mi ", "mis ", "mio ", "mia ", "mijn ", "onze ", "meu ", "minha ", "mój ", "moja ",
                      "min ", "mitt ", "name", "from", "von", "regard", "thank", "cheer", "dear", "hi", "hello", "i'm", "i am",
                      "attn", "c/o", "contact", "signed", "hei", "appelle", "nom ", "suis", "llamo", "nombre", "chiamo",
                      "naam", "ik ben", "nome", "chamo", "sou ", "sono", "soy", "nazywam", "imię", "jestem", "heter",
                      "namn", "mvh", "grü", "grus", "cordial", "salud", "saluto", "groeten", "atencios", "pozdraw",
                      "hälsning", "grand", "nana", "aunt", "uncle", "oma", "opa", "tante", "onkel", "mamie", "papy",
                      "abuel", "tía", "tío", "tia", "tio", "nonn", "zia", "zio", "babcia", "dziadek", "ciocia", "wujek",
                      "mormor", "farmor", "morfar", "farfar", "birthday", "anniversary", "congrat", "glückwunsch",
                      "alles gute", "anniversaire", "cumpleaños", "compleanno", "gefeliciteerd", "parabéns",
                      "najlepszego", "grattis", "love,", "xoxo", "call", "ask", "tell", "mail", "message", "text",
                      "ring", "invite", "meet", "visit", "ship", "deliver", "send", "give", "attention", "kontakt",
                      "anruf", "appelez", "contactez", "llame", "chiamare", "bellen", "hedder", "navn", "nimeni",
                      "adım", "jmenuji", "menovám", "nevem", "numesc", "numele", "nama saya", "tên tôi", "pangalan",
                      "jina")


def _after_context(text: str, titles: bool = True) -> list[tuple[int, int]]:
    """Names right after a person word; after a weak one ("from") only a given name + surname.
    `titles=False`: a title is no person word (a product: `Mr. Clean Magic Eraser`, `Frau Tonis`)."""
    low = text.lower()
    if not any(f in low for f in _CONTEXT_FRAGMENTS):  # substring tests in C before the regex
        return []
    spans = []
    for m in _CONTEXT.finditer(text):
        pos, end = m.end(), m.end()
        found: list[str] = []
        strong = m.group("strong") is not None
        title = m.group("title") is not None
        if title and not titles:
            continue
        while len(found) < 3 and (w := _WORD.match(text, pos)) is not None:
            word = w.group().lower()
            if found and not strong and word in THING_AFTER:
                end = -1  # "Meet George Foreman Grill": the pair names a thing
                break
            # after "my name is" any capitalised word is the name; after "Mrs" the first (a surname,
            # `Mrs Brown`); after "Hi" a given name, and the capitalised word after a given name is
            # its surname even when no list has it
            if not (strong or (title and not found) or _name_word(w.group())
                    or (found and found[0] in GIVEN and not m.group("weak") and word not in THING_AFTER)):
                break
            end = w.end()
            found.append(word)
            gap = re.match(r"[ \t]+", text[end:])
            if gap is None:
                break
            pos = end + gap.end()
        if end < 0:
            continue
        if not found:
            if title and (p := _PARTICLES.match(text, m.end() - 1)) is not None:
                spans.append((m.end(), p.end()))  # "Mevrouw de Vries", "Herr von Bülow"
            continue
        if not (strong or title or m.group("listed")) and len(found) == 1 \
                and (found[0] in PLACES or found[0] in COMMON_WORDS):
            continue  # "from Paris", "Dear Customer"
        if m.group("weak") and not (len(found) >= 2 and found[0] in GIVEN and _fold(found[1]) in SURNAMES
                                    and found[0] not in PLACES and not _thing_follows(text, end)):
            continue  # "Visit Paris Hilton Hotel", "Call Of Duty"
        if (p := _PARTICLES.match(text, end)) is not None:
            end = p.end()  # "Sanne de Jong", "Ludwig van der Berg", "Lucas da Silva"
        spans.append((m.end(), end))
    return spans


def _thing(word: str) -> bool:
    """A thing or place word, singular or plural (`polos`, `gowns`, `heels`, `knives`)."""
    w = word.strip(".,;:!?").lower()
    return w in THING_AFTER or (w.endswith("s") and (w[:-1] in THING_AFTER or (w.endswith("es") and w[:-2] in THING_AFTER)))


def _thing_follows(text: str, end: int) -> bool:
    """A thing word right after, or after one lower-case word (`wedding gowns`, `frying pan`)."""
    rest = text[end:end + 32].split()
    if not rest:
        return False
    return _thing(rest[0]) or (len(rest) > 1 and rest[0].islower() and rest[0].isalpha()
                               and rest[0] not in _FUNCTION_WORDS and _thing(rest[1]))


# Words that start a phrase of their own: `Jane Doe at store 5` is a person at a place.
_FUNCTION_WORDS = frozenset("at on in to for from by with of the a an and or is was will has via per into".split())


# Surnames written first (Chinese, Korean, Vietnamese, Japanese order): `Kim Min-jun`, `Wang Wei`,
# `Nguyen Van An` — then the given name follows, its parts listed (`Min-jun`: min, jun).
SURNAME_FIRST = frozenset("""
kim lee park choi jung jeong kang cho jo yoon yun jang lim im han oh seo shin kwon hwang ahn song
wang li zhang liu chen yang huang zhao wu zhou xu sun zhu hu guo lin gao luo zheng liang xie tang
nguyen tran le pham hoang huynh phan vu vo dang bui ngo duong ly
sato suzuki takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato yoshida yamada sasaki
""".split())


_SYLLABLES = re.compile(r"[A-Z][a-z]{1,4}-[a-z]{2,4}")  # a Korean given name as romanised: `Min-jun`, `Seo-yeon`


def _given_parts(word: str) -> bool:
    parts = re.split(r"[-'’]", word.lower())
    return (all(p in GIVEN for p in parts if p) and word.lower() not in COMMON_WORDS) \
        or _SYLLABLES.fullmatch(word) is not None


def _pairs(text: str) -> list[tuple[int, int]]:
    spans = []
    words = list(_WORD.finditer(text))
    for i in range(len(words) - 1):
        a, b = words[i], words[i + 1]
        if text[a.end():b.start()] != " ":
            continue
        first, last = a.group().lower(), _fold(b.group())
        surname_first = first in SURNAME_FIRST and _given_parts(b.group())
        if not surname_first and (first not in GIVEN or last not in SURNAMES or first in COMMON_WORDS
                                  or last in COMMON_WORDS or first in PLACE_PREFIXES):
            continue
        before = text[max(0, a.start() - 2):a.start()]
        if i > 0 and words[i - 1].end() == a.start() - 1 and before.endswith(" "):
            continue  # a third capitalised word before: a title or a product name
        nxt = words[i + 2] if i + 2 < len(words) else None
        if nxt is not None and nxt.start() == b.end() + 1:
            if surname_first and _given_parts(nxt.group()) and not _thing(nxt.group()):
                end = nxt.end()  # "Nguyen Van An"
            elif nxt.group().lower() in THING_AFTER or nxt.group().lower() not in SURNAMES:
                continue  # "Paris Hilton Hotel", "Calvin Klein Eternity"
            end = nxt.end()  # "Mary Jane Watson"
        else:
            end = b.end()
        if _thing_follows(text, end):
            continue
        spans.append((a.start(), end))
    return spans


_SLUG_PARTS = re.compile(r"[-_.+ ]+")


def name_slug(segment: str) -> bool:
    """`jane-doe`, `maria_garcia`, `anna.kowalska`: a listed given name and a listed surname
    written as one URL segment (lower case, as slugs are)."""
    parts = _SLUG_PARTS.split(segment.lower())
    return 2 <= len(parts) <= 4 and parts[0] in GIVEN and parts[-1] in SURNAMES \
        and parts[0] not in COMMON_WORDS and parts[-1] not in COMMON_WORDS


# "My name is …" in scripts without capital letters or with their own: the words right after the
# phrase are the name (Cyrillic and Greek capitalised words; two to four Han, kana or Hangul
# characters; one to three Arabic or Hebrew words).
_CYR = r"[А-ЯЁІЇЄЎ][а-яёіїєў'-]+"
_GRK = r"[Α-ΩΆ-Ώ][α-ωά-ώϊϋΐΰ]+"
_ARB = r"[\u0621-\u064a]+"
_HEB = r"[\u05d0-\u05ea]+"
_SCRIPT_NAMED = re.compile(
    rf"(?i:меня\s+зовут|мо[её]\s+имя|мене\s+звати|моє\s+ім'я|казвам\s+се|zovem\s+se)[\s:,]+(?P<cyr>{_CYR}(?:\s+{_CYR}){{0,2}})"
    rf"|(?i:με\s+λένε|ονομάζομαι|το\s+όνομά\s+μου\s+είναι)[\s:,]+(?P<grk>{_GRK}(?:\s+{_GRK}){{0,2}})"
    r"|(?:我叫|我的名字是|我的名字叫|私の名前は|제\s?이름은)[\s:：]*(?P<cjk>[\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7a3]{2,4})"
    rf"|(?:اسمي|إسمي)[\s:]+(?P<arb>{_ARB}(?:\s+{_ARB}){{0,2}})"
    rf"|(?:קוראים\s+לי|שמי)[\s:]+(?P<heb>{_HEB}(?:\s+{_HEB}){{0,1}})"
)
_SCRIPT_HINT = re.compile(r"зовут|имя|звати|ім'я|казвам|zovem|λένε|ονομάζομαι|όνομά|我叫|名字|名前|이름|اسمي|إسمي|קוראים|שמי",
                          re.IGNORECASE)


def hint(text: str) -> bool:
    """Cheap gate: a capitalised word after a space, or a naming phrase of another script."""
    return HINT.search(text) is not None or (not text.isascii() and _SCRIPT_HINT.search(text) is not None)


def _named_in_script(text: str) -> list[tuple[int, int]]:
    if text.isascii() or _SCRIPT_HINT.search(text) is None:
        return []
    return [m.span(m.lastgroup or 0) for m in _SCRIPT_NAMED.finditer(text)]


def find(text: str, pairs: bool = True) -> list[tuple[int, int]]:
    """Spans of person names in `text` (see the module docstring for when a name counts);
    `pairs=False`: only after a person word (rule 1), for text that names a product or brand."""
    if HINT.search(text) is None:
        return _named_in_script(text)
    spans = sorted(set(_after_context(text, titles=pairs)) | (set(_pairs(text)) if pairs else set())
                   | set(_named_in_script(text)))
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged
