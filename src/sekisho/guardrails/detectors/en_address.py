"""Street addresses in English and other Latin-script text: the street line, then what follows it.

An address is anchored on a street line, which has a shape people rarely write otherwise:
- North American / British: house number, street name, a USPS Publication 28 / Royal Mail style
  suffix ("221B Baker Street", "1600 N Pennsylvania Ave NW", "12 Elm Rd.");
- Continental: a street word with its type in it and a number after ("Hauptstraße 5", "Koskikatu 25",
  "Keizersgracht 123"), or a type word first ("Via Roma 10", "12, rue de la Paix", "Calle Mayor, 5");
- US military and PO box lines ("PSC 1234, Box 5678", "P.O. Box 42").
From the anchor the span grows over the parts that follow, each after a comma, a line break or (for
codes) a space: apartment or suite, city, state or region code, postal code, country. The whole
address is one finding, so redacting it leaves no city or ZIP code behind.
"""

from __future__ import annotations

import re

from sekisho.guardrails.detectors.en_person import LOWER, UPPER, WORD
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

# Street suffixes: the USPS Publication 28 (appendix C1) names and their usual abbreviations, plus
# street types common in the UK, Ireland, Australia and New Zealand.
_SUFFIXES = sorted(
    set(
        """Alley Anex Annex Arcade Avenue Bayou Beach Bend Bluff Bluffs Bottom Boulevard Branch Bridge Brook
        Brooks Burg Burgs Bypass Camp Canyon Cape Causeway Center Centers Centre Circle Circles Cliff Cliffs
        Club Common Commons Corner Corners Course Court Courts Cove Coves Creek Crescent Crest Crossing
        Crossroad Curve Dale Dam Divide Drive Drives Estate Estates Expressway Extension Extensions Fall
        Falls Ferry Field Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks Fort Freeway Garden
        Gardens Gateway Glen Glens Green Greens Grove Groves Harbor Harbors Harbour Haven Heights Highway
        Hill Hills Hollow Inlet Island Islands Isle Junction Junctions Key Keys Knoll Knolls Lake Lakes
        Land Landing Lane Light Lights Loaf Lock Locks Lodge Loop Mall Manor Manors Meadow Meadows Mews
        Mill Mills Mission Motorway Mount Mountain Mountains Neck Orchard Oval Overpass Park Parks Parkway
        Parkways Pass Passage Path Pike Pine Pines Place Plain Plains Plaza Point Points Port Ports Prairie
        Radial Ramp Ranch Rapid Rapids Rest Ridge Ridges River Road Roads Route Row Run Shoal Shoals
        Shore Shores Skyway Spring Springs Spur Spurs Square Squares Station Stravenue Stream Street
        Streets Summit Terrace Throughway Trace Track Trafficway Trail Trailer Tunnel Turnpike Underpass
        Union Unions Valley Valleys Viaduct View Views Village Villages Ville Vista Walk Walks Wall Way
        Ways Well Wells
        Aly Ave Av Blvd Cir Ct Cres Crk Cswy Ctr Dr Expy Fwy Gdns Grv Hbr Hts Hwy Jct Ln Lndg Mnr Mtn Pkwy
        Pl Plz Pt Rd Rdg Sq St Sta Ter Tpke Trl Vly Vw Xing
        Close Parade Esplanade Promenade Circuit Rise Chase Quay Wharf Nook Front Foreshore Vale Grange
        Gate Glade Outlook Retreat Crossway Drove Fairway Lawn Lawns Yard Wynd
        Access Amble Approach Brace Brae Brow Concourse Copse Dell Edge Entrance Frontage Gully Line Link
        Lookout Meander Pocket Ramble Reach Reserve Rotary Round Serviceway Steps Strand Strip Turn
        Walkway Laneway""".split()
    ),
    key=len,
    reverse=True,
)
# A period after an abbreviation ("St.") belongs to it; after a full word it ends the sentence.
_ABBREVIATIONS = frozenset(
    "Aly Ave Av Blvd Cir Ct Cres Crk Cswy Ctr Dr Expy Fwy Gdns Grv Hbr Hts Hwy Jct Ln Lndg Mnr Mtn Pkwy "
    "Pl Plz Pt Rd Rdg Sq St Sta Ter Tpke Trl Vly Vw Xing".split()
)
_SUFFIX = "(?:" + "|".join(f"{x}\\.?" if x in _ABBREVIATIONS else x for x in _SUFFIXES) + ")"
_DIR = r"(?:[NSEW]|N[EW]|S[EW]|North|South|East|West)\.?"
_NUM = r"[0-9]{1,6}(?:-?[A-Za-z](?![A-Za-z]))?(?:[-/][0-9]{1,5})?"
_NAME = rf"(?:{WORD}|[0-9]{{1,3}}(?:st|nd|rd|th))"
_US_STREET = rf"{_NUM}[ ](?:{_DIR}[ ])?(?:{_NAME}[ ]){{1,4}}{_SUFFIX}(?:[ ]{_DIR}(?![{LOWER}]))?"

# Street types written into the street's name ("Hauptstraße", "Koskikatu"). "During 2024" and "Spring 5"
# end in "ring" too, hence the two lookbehinds in _EU_SUFFIXED.
_EU_TYPES_IN_WORD = [
    *(
        "straße strasse weg gasse platz allee damm ufer steig pfad chaussee straat laan plein gracht kade "
        "singel dijk steeg hof dreef markt boulevard bulevardi katu kuja polku väylä kaari rinne gatan vägen "
        "gränd stigen torget gade vej vænget stræde plads torv allé veien vegen gata gaten utca ulica ulice"
    ).split(),
    # German "Str.", Finnish "-ntie"/"-ttie" and German "-ring" need a letter before them ("Kaiserring").
    *("str.", "ntie", "ttie", "ring"),
]
# Type words that may also stand apart after the name ("Adolf Lindforsin polku 7", "Holsteins Allé 50").
_EU_TYPES_APART = (
    "polku tie katu kuja allé vej gade stræde plads Allé Allee Platz Weg Straße Gasse Ring Damm".split()
)
_HOUSE = r"[0-9]{1,5}[A-Za-z]?(?:[-/][0-9]{1,5}[A-Za-z]?)?"
_EU_SUFFIXED = (
    rf"(?:[0-9]{{1,6}}[ ])?(?:{WORD}[ ]){{0,2}}"
    rf"(?:[{UPPER}][{LOWER}]+(?<!Du)(?<!Sp)(?:{'|'.join(re.escape(t) for t in _EU_TYPES_IN_WORD)})"
    rf"|(?:[{UPPER}][{LOWER}]+-)+(?:{'|'.join(re.escape(t.capitalize()) for t in _EU_TYPES_IN_WORD)})"
    rf"|(?:{WORD}[ ]){{1,3}}(?:{'|'.join(_EU_TYPES_APART)}))"
    rf"(?:[ ]|,[ ]?){_HOUSE}"
)
# Street types written first ("Via Roma 10", "Calle Mayor, 5", "12, rue de la Paix").
_EU_TYPES_FIRST = (
    "Via Viale Piazza Piazzale Corso Vicolo Largo Calle Avenida Avda. Paseo Plaza Camino Carrera Ronda "
    "Rambla Travesía Rua Travessa Praça Alameda Estrada Rue Boulevard Bd Chemin Allée Impasse Quai Cours "
    "Route ul. ulica Aleja al. Straße Strada Avenue Place aleja plac pl. Borgo Contrada Rotonda Canale "
    "Stretto Pasaje Glorieta Cuesta Callejón Urbanización C. Vía Ladeira Viela Vila Quadra Conjunto Setor "
    "Loteamento Residencial Condomínio Chácara Sítio Fazenda Vale Lagoa Trecho Vereda Distrito Morro "
    "Núcleo Parque Pátio Feira Campo Jardim Esplanada Estação Colônia "
    # French and Spanish write the type word in lower case after the number.
    "rue avenue boulevard chemin allée impasse place quai cours route calle avenida paseo via viale"
).split()
_EU_TYPE_FIRST = "(?:" + "|".join(re.escape(t) for t in _EU_TYPES_FIRST) + ")"
_PARTICLE = r"(?:de|del|de la|de las|de los|des|du|di|da|do|dos|das|della|dei|delle|la|le|l'|d')"
_EU_NAME = rf"(?:{WORD}|{_PARTICLE})"
_EU_PREFIXED = (
    rf"(?:[0-9]{{1,5}}[A-Za-z]?,?[ ])?{_EU_TYPE_FIRST}[ ](?:{_EU_NAME}[ ]){{0,4}}(?:{WORD})"
    rf"(?:,?[ ](?:n\.?º?[ ]?)?{_HOUSE}(?![0-9.,][0-9]))?"
)
_MILITARY = (
    r"(?:(?:PSC|CMR|Unit)[ ][0-9]{3,5},?[ ]Box[ ][0-9]{1,5}|(?:USNS|USNV|USS|USCGC)[ ][A-Z][a-z]+)"
    r"(?:\s*\n?\s*(?:APO|FPO|DPO)[ ]A[AEP][ ][0-9]{5})?"
)
# A unit first, then the street ("Flat 45\nJean Course", "Suite 968 76 Kathryn Front", "Level 8 048 James
# Place"); British flats often name the street without a house number.
_UNIT_LED = (
    r"(?:Flat|Studio|Apartment|Apt\.?|Suite|Unit|Level|Floor)[ ][0-9]{1,5}[A-Za-z]?"
    rf"(?:[ ]|,[ ]?|[ ]*\n[ ]*)(?:{_US_STREET}|(?:{_NAME}[ ]){{1,3}}{_SUFFIX})"
)
_PO_BOX = r"(?:P\.?[ ]?O\.?[ ]?Box|Post Office Box|Postfach|Apartado)[ ][0-9]{1,6}"
_BEFORE = r"(?<![\w.,-])"
_AFTER = r"(?![\w@])"
# Python's regex engine has no fast path for a long alternation of words, so the text is scanned for
# digit runs only (every address here has one). A US street line starts at the run; the other shapes
# are tried only when a key word sits in the few words around it (set and suffix tests, at C speed).
_DIGITS = re.compile(r"[0-9]+")
_US = re.compile(rf"{_BEFORE}{_US_STREET}{_AFTER}")
_WORD_LED = re.compile(
    rf"{_BEFORE}(?:(?P<unit>{_UNIT_LED})|(?P<eu>{_EU_SUFFIXED})|(?P<pre>{_EU_PREFIXED})|(?P<mil>{_MILITARY})"
    rf"|(?P<box>{_PO_BOX})){_AFTER}"
)
_KEY_WORDS = frozenset(
    {t.lower().rstrip(".") for t in _EU_TYPES_FIRST}
    | {"psc", "cmr", "unit", "usns", "usnv", "uss", "uscgc", "box", "postfach", "apartado"}
    | {"flat", "studio", "apartment", "apt", "suite", "level", "floor"}
    | {t.lower() for t in _EU_TYPES_APART}
)
_KEY_SUFFIXES = tuple(t.rstrip(".") for t in _EU_TYPES_IN_WORD)
_WORDISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,-/")

# Parts that may follow the street line.
_UNIT = (
    r"(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Fl\.?|Floor|Room|Rm\.?|Bldg\.?|Building|Dept\.?|Box|#"
    r"|Piso|Puerta|Planta|Piano|Scala|Interno|Stock|Étage|Etage|Bus|Whg\.?)"
    r"[ ]?#?[ ]?[0-9]{1,6}[A-Za-z]?(?![\w])"
)
# Postal codes: US ZIP(+4) and Brazilian CEP, Irish Eircode, UK, Canada, Netherlands, Poland, Sweden,
# and the plain 4- and 6-digit codes of most other countries.
_POSTAL = (
    r"(?:[0-9]{5}(?:-[0-9]{4}|-[0-9]{3})?|[0-9]{8}|[A-Z][0-9][0-9W][ ]?[0-9A-Z]{4}"
    r"|[A-Z]{1,2}[0-9][A-Z0-9]?[ ][0-9][A-Z]{2}|[A-Z][0-9][A-Z][ ]?[0-9][A-Z][0-9]|[0-9]{4}[ ]?[A-Z]{2}"
    r"|[0-9]{2}-[0-9]{3}|[0-9]{3}[ ][0-9]{2}|[0-9]{4}|[0-9]{6})(?![\w-])"
)
_REGION = r"(?:[A-Z]{2,3}|\([A-Z]{2}\))(?![\w])"
_LINK = r"(?:de|del|la|le|les|of|on|upon|am|an|im|der|sur|en|sous|da|do|dos|das|di|al)"
_PLACE = (
    rf"(?:{WORD}|St\.)(?:(?:[ ]|-|[ -]{_LINK}[ -]){WORD}){{0,3}}"
    r"(?!\w)(?![ ]*:)"  # whole words only; "Phone:" on the next line is a form label, not a city
)
_STRONG_SEP = r"(?:[ ]*,[ ]*(?:\n[ ]*)?|[ ]*\n[ ]*(?:,[ ]*)?|[ ]/[ ])"
_END = rf"(?=[ ]*(?:[,\n.;)]|$)|[ ]+(?:{_POSTAL}|{_REGION}))"
_PART_AFTER_BREAK = re.compile(
    rf"{_STRONG_SEP}(?:(?P<unit>{_UNIT})|(?P<code>{_POSTAL}|{_REGION})|{_PLACE}{_END})"
)
_PART_AFTER_SPACE = re.compile(rf"[ ](?:(?P<unit>{_UNIT})|(?P<code>{_POSTAL}|{_REGION}))")
# After a postal code the next capitalised words are the city even mid-sentence ("Sauvo last year").
_PLACE_AFTER_CODE = re.compile(rf"(?:{_STRONG_SEP}|[ ]){_PLACE}")
_YEAR_BEFORE = re.compile(r"\b(?:in|since|by|until|from|of)[ ](?:19|20)\d\d[ ]", re.IGNORECASE)
_LOWER_WORDS = frozenset("and or but the to in at on of for with is was are were if then when".split())


class EnglishAddressDetector:
    """Street addresses (US/UK/Canadian and continental European shapes), from the street line to
    the city, region, postal code and country after it, as one span: found by the token tagger of
    ``en_ner`` (default), or with ``model=False`` by the street-line rules of this module."""

    name = "en_address"
    types = frozenset({"ADDRESS"})

    def __init__(self, *, score: float = 0.8, max_parts: int = 6, model: bool = True) -> None:
        self.score = score
        self.max_parts = max_parts
        self.model = model
        if model:
            from sekisho.guardrails.detectors import en_ner  # imports this module: loaded lazily

            self._tag = en_ner.tag
            en_ner.model()

    def detect(self, text: Text) -> list[Finding]:
        if not self.model:
            return [text.finding("ADDRESS", a, b, s, self.name) for a, b, s in self._rules(text.norm)]
        # The tagger alone: on the synthetic dev set adding the rules' spans changed F1 by < 0.002 and
        # would double the cost (see scripts/train_en_ner.py).
        return [
            text.finding("ADDRESS", a, b, round(0.4 + 0.55 * p, 2), self.name)
            for a, b, p in self._tag(text).address
        ]

    def _rules(self, norm: str) -> list[tuple[int, int, float]]:
        out: list[tuple[int, int, float]] = []
        done = 0
        for digits in _DIGITS.finditer(norm):
            p, q = digits.start(), digits.end()
            if p < done:
                continue  # inside an address already reported
            anchor = self._anchor(norm, p, q)
            if anchor is None:
                continue
            start, end, family = anchor
            end, coded, parts = self._extend(norm, end)
            score = self.score - (0.1 if family in ("pre", "eu") and not parts else 0.0)
            if coded:
                score += 0.1
            out.append((start, end, round(min(score, 0.95), 2)))
            done = end
        return out

    def _anchor(self, norm: str, p: int, q: int) -> tuple[int, int, str] | None:
        """The street line that the digit run at ``[p, q)`` belongs to, if any."""
        before = norm[p - 1] if p else " "
        after = norm[q] if q < len(norm) else "."
        if before not in _WORDISH and (after in " -/" or "A" <= after <= "Z" or "a" <= after <= "z"):
            m = _US.match(norm, p)
            if m is not None and not _YEAR_BEFORE.search(norm, max(0, p - 8), m.end()):
                return p, m.end(), "us"  # a year before a street is "In 2024 Main Street was busy"
        # Other shapes have a space or ", " on one side of the number ("Koskikatu 25", "12, rue ...");
        # numbers inside dates, amounts and Japanese text stop here.
        if before not in " ,\n" and after != " " and norm[q : q + 2] != ", ":
            return None
        lo = max(0, p - 48)
        words = norm[lo : q + 16].lower().replace(",", " ").split()
        if not any(w.rstrip(".") in _KEY_WORDS or w.rstrip(".").endswith(_KEY_SUFFIXES) for w in words):
            return None
        m = _WORD_LED.search(norm, lo, min(len(norm), q + 96))
        while m is not None and m.end() < q:
            m = _WORD_LED.search(norm, m.end(), min(len(norm), q + 96))
        if m is None or m.start() > q:
            return None
        return m.start(), m.end(), m.lastgroup or "eu"

    def _extend(self, norm: str, end: int) -> tuple[int, bool, int]:
        """Grow ``end`` over the unit, city, region, postal code and country that follow."""
        coded = False
        parts = 0
        last_was_code = norm[end - 1].isdigit()  # a street line may end on the postal code already
        while parts < self.max_parts:
            m = _PART_AFTER_BREAK.match(norm, end) or _PART_AFTER_SPACE.match(norm, end)
            if m is None and last_was_code:
                m = _PLACE_AFTER_CODE.match(norm, end)  # "10115 Berlin", "64677 Montevideo"
            if m is None:
                break
            words = m.group().strip(" ,\n").split()
            if m.lastgroup != "code" and words and words[0].lower() in _LOWER_WORDS:
                break
            last_was_code = m.lastgroup == "code"
            coded = coded or last_was_code
            end = m.end()
            parts += 1
        return end, coded, parts
