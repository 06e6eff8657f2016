"""Person names in English and other Latin-script text, offline.

By default the names are those the small token tagger of ``en_ner`` finds (trained on synthetic text,
features from the gazetteer below, shape and context). The rules here are the fallback
(``model=False``) and lend the tagger their lexicons.

For the rules, a name is a run of capitalised tokens ("Mary-Jane O'Brien", "Pieter van der Berg",
"John F. Smith"). Each run is scored from a gazetteer (US Census 1990 given names and surnames, plus common
international given names; see ``data/en_names.NOTICE.md``) and from the words around it: a title
(Mr., Dr.), a greeting or sign-off (Dear, Hi, Regards), "my name is". Runs that are places, companies
or street names (a suffix such as Street or LLC, a leading number) are dropped, so the address and
organisation around a name do not become names.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text


def _latin_class(upper: bool) -> str:
    chars = [
        chr(cp)
        for cp in (*range(0x41, 0x7B), *range(0xC0, 0x250), *range(0x1E00, 0x1F00))
        if (chr(cp).isupper() if upper else chr(cp).islower()) and unicodedata.category(chr(cp))[0] == "L"
    ]
    return "".join(re.escape(c) for c in chars)


UPPER = _latin_class(True)
LOWER = _latin_class(False)
# One name token: "John", "O'Brien", "McDonald", "DeAndre", "Smith-Jones"; or an initial "J." / "J".
WORD = rf"[{UPPER}](?:['’][{UPPER}])?[{LOWER}]+(?:[{UPPER}][{LOWER}]+)?(?:-[{UPPER}][{LOWER}]+)?"
_PARTICLES = r"(?:van|von|der|den|de|del|della|di|da|du|la|le|dos|das|ter|ten|bin|ibn|al|el|zu|y)"
_TOKEN = rf"(?:{WORD}|[{UPPER}]\.?(?![{LOWER}]))"
_RUN = re.compile(rf"(?=[{UPPER}])(?<![\w'’-]){_TOKEN}(?:[ ](?:{_PARTICLES}[ ])*{_TOKEN})*")
_TOKENS = re.compile(rf"{WORD}|[{UPPER}]\.?|{_PARTICLES}")
_HAS_UPPER = re.compile(rf"[{UPPER}][{LOWER}]")

_TITLES = frozenset(
    "mr mrs ms miss mx dr prof professor sir dame lord lady madam mister doctor rev reverend fr father "
    "sister brother capt captain sgt sergeant lt lieutenant col colonel gen general officer judge hon "
    "president senator governor mayor coach nurse agent detective inspector uncle aunt".split()
)
# Capitalised words that open or close a run without being part of the name; greetings and
# sign-offs among them are also cues that a name follows or precedes.
_GREETINGS = frozenset(
    "dear hi hello hey greetings thanks thank regards sincerely cheers best yours cordially love "
    "attn attention cc signed welcome congratulations congrats".split()
)
_STOP = frozenset(
    """a an the and or but if so as at by for from in into of on onto to with without via per
    i we you he she they it me us him her them my our your his its their this that these those
    is are was were be been am do does did has have had will would shall should can could may might must
    not no yes ok okay please note see ask tell call email contact meet send let get make give
    what when where who whom whose why how which while after before during since until because although
    here there then now today tomorrow yesterday all any each every some many more most much other
    another such only also just even still very well good great new old first last next one two three
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december feb mar apr jun jul aug sep sept oct nov dec
    mon tue wed thu fri sat sun am pm utc gmt est pst re fw fwd subject from sent date to cc bcc
    name names address phone mobile tel fax email account customer client patient user member id
    street st avenue ave road rd lane drive court blvd boulevard apt suite unit floor building
    company inc llc ltd plc corp co group bank university college school hospital hotel church
    north south east west central upper lower lake port mount mt fort saint san santa los las
    team department office services service project report meeting order invoice ticket case
    english french german spanish italian chinese japanese korean russian american british european
    english christmas easter god lord jesus internet api http https www url ceo cto cfo vp hr it pr""".split()
)
_ORG_OR_PLACE_TAIL = frozenset(
    """street st avenue ave road rd lane ln drive dr court ct boulevard blvd way place pl square sq
    terrace circle parkway highway hwy trail crescent close alley plaza loop path pike ridge heights
    hills grove gardens park station airport bridge river lake valley island islands beach bay county
    city town village state province district republic kingdom
    inc llc ltd plc corp corporation company co group holdings partners associates bank university
    college school academy institute hospital clinic hotel church foundation society association
    fund trust ventures labs systems solutions technologies industries enterprises international
    ville course creek springs spring falls cliffs cliff crest pines meadows mill mills estates estate
    shores shore harbor harbour haven heights inlet knoll knolls locks landing manor mews orchard oval
    ranch rapids rest shoal shoals summit trace track view views vista walk wells forge fork forks glen
    glens green greens grove groves hollow isle junction keys lakes light lights lodge mission mount
    mountain neck parks parkway pass passage path plains point points port prairie ridge ridges river
    roads route row run squares station stream streets terrace tunnel turnpike union unions valley
    valleys villages way ways camp
    sa sas sarl sl gmbh ag oy ab bv nv spa srl ltda kg tmi aps as llp lp pty""".split()
)
# Words right before a run that make it a place or a street: "West Samantha", "rue Joséphine Gaillard".
_PLACE_BEFORE = frozenset(
    """north south east west new port lake mount mt fort saint st san santa sainte upper lower little great
    rue via calle avenida rua piazza borgo largo viale corso paseo plaza travessa avenue boulevard
    chemin allée impasse place quai route ulica aleja ul al pl c avda pasaje glorieta callejón rambla ronda
    urbanización camino travesía alameda estrada praça ladeira viela vila quadra loteamento trecho feira
    vicolo contrada stretto piazzale rotonda""".split()
)
_MONTHS_AS_NAMES = frozenset({"april", "may", "june", "august"})
# After a given name at the start of a sentence, these make it the subject: "Louis said ...".
_VERBS_AFTER = frozenset(
    "said says asked asks told tells wrote writes called calls thinks thought is was will would has had can "
    "could should and replied answered mentioned confirmed agreed".split()
)
_PLACES = frozenset(
    """america africa asia europe australia antarctica canada mexico brazil argentina chile peru colombia
    venezuela uruguay paraguay bolivia ecuador cuba jamaica haiti france germany spain portugal italy
    greece turkey russia ukraine poland sweden norway denmark finland iceland ireland scotland wales
    england britain netherlands holland belgium luxembourg switzerland austria hungary romania bulgaria
    serbia croatia slovenia slovakia czechia albania israel jordan lebanon syria iraq iran egypt libya
    morocco tunisia algeria nigeria kenya ghana ethiopia somalia sudan chad niger mali senegal angola
    zambia zimbabwe namibia botswana madagascar india pakistan bangladesh nepal china japan korea
    vietnam thailand cambodia laos myanmar malaysia singapore indonesia philippines mongolia taiwan
    georgia armenia azerbaijan kazakhstan uzbekistan afghanistan arabia qatar kuwait oman yemen
    zealand fiji samoa tonga alabama alaska arizona arkansas california colorado connecticut delaware
    florida hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts
    michigan minnesota mississippi missouri montana nebraska nevada hampshire jersey york carolina
    dakota ohio oklahoma oregon pennsylvania rhode tennessee texas utah vermont virginia washington
    wisconsin wyoming london paris berlin madrid rome tokyo osaka kyoto beijing shanghai sydney
    melbourne toronto vancouver chicago boston houston dallas austin denver seattle atlanta phoenix
    miami detroit orlando portland memphis nashville charlotte columbus indianapolis jacksonville
    cleveland cincinnati pittsburgh baltimore philadelphia brooklyn manhattan oxford cambridge
    dublin vienna prague warsaw budapest moscow istanbul cairo dubai mumbai delhi seoul hongkong
    amsterdam brussels lisbon athens stockholm oslo copenhagen helsinki zurich geneva munich hamburg
    frankfurt milan naples venice florence barcelona valencia seville lyon marseille""".split()
)
_CITY_AFFIX = re.compile(
    r"(?:ville|burgh|borough|bury|furt|stad|mouth|haven|chester|shire|ton|town|port|side|view|fort|land)$"
)
# Words right before a run that say a name follows: "my name is", "Dear", "Mr.", "Patient:".
_CUE_BEFORE = (
    frozenset(
        """dear hi hello hey attn attention regards sincerely thanks cheers signed name named called patient
    customer client employee applicant passenger cardholder from:""".split()
    )
    | _TITLES
)
_CUE_PHRASES = frozenset({"name is", "i am", "i'm", "this is", "thank you", "contact person", "ask for"})
_FIRM_HEAD = re.compile(rf", [{UPPER}][\w'-]+,? (?:and|&) [{UPPER}]")
_FIRM_TAIL = re.compile(rf"[{UPPER}][\w'-]+, [{UPPER}][\w'-]+,? (?:and|&) $")
_SENTENCE_END = frozenset('.!?:;\n"“(')
_CUE_WORDS = (
    _TITLES
    | _GREETINGS
    | {"cardholder", "patient", "customer", "client", "employee", "applicant", "passenger", "contact", "attn"}
)
_EDGE = _CUE_WORDS | _STOP


@dataclass(frozen=True, slots=True)
class _Gazetteer:
    first: frozenset[str]
    last: frozenset[str]
    # Names that are also common English words ("Hope", "Young"), per list: "Maria" is a rare
    # surname that is a word, but a common given name.
    ambiguous_first: frozenset[str]
    ambiguous_last: frozenset[str]


@cache
def _gazetteer() -> _Gazetteer:
    first: set[str] = set()
    last: set[str] = set()
    ambiguous_first: set[str] = set()
    ambiguous_last: set[str] = set()
    data = resources.files("sekisho.guardrails").joinpath("data/en_names.txt.gz").read_bytes()
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        kind, _, name = line.partition("\t")
        (first if kind[0] == "f" else last).add(name)
        if kind.endswith("?"):
            (ambiguous_first if kind[0] == "f" else ambiguous_last).add(name)
    return _Gazetteer(
        frozenset(first), frozenset(last), frozenset(ambiguous_first), frozenset(ambiguous_last)
    )


class EnglishPersonDetector:
    """Person names in Latin-script text: the token tagger of ``en_ner`` (default), or with
    ``model=False`` the rules of this module (gazetteer, capitalisation and context cues;
    ``single_name_score`` applies to them only)."""

    name = "en_person"
    types = frozenset({"PERSON"})

    def __init__(self, *, single_name_score: float = 0.6, model: bool = True) -> None:
        self.single_name_score = single_name_score
        self.model = model
        self._names = _gazetteer()
        if model:
            from sekisho.guardrails.detectors import en_ner  # imports this module: loaded lazily

            self._tag = en_ner.tag
            en_ner.model()

    def detect(self, text: Text) -> list[Finding]:
        if not self.model:
            return [text.finding("PERSON", a, b, s, self.name) for a, b, s in self._rules(text.norm)]
        # The tagger alone: on the synthetic dev set adding the rules' spans changed F1 by < 0.002 and
        # would double the cost (see scripts/train_en_ner.py).
        return [
            text.finding("PERSON", a, b, round(0.4 + 0.55 * p, 2), self.name)
            for a, b, p in self._tag(text).person
        ]

    def _rules(self, norm: str) -> list[tuple[int, int, float]]:
        if _HAS_UPPER.search(norm) is None:
            return []  # no capitalised Latin word: nothing to look at (Japanese text, code, lower case)
        out: list[tuple[int, int, float]] = []
        for m in _RUN.finditer(norm):
            found = self._score_run(norm, m.start(), m.group())
            if found is not None:
                out.append(found)
        return out

    def _score_run(self, norm: str, offset: int, run: str) -> tuple[int, int, float] | None:
        names = self._names
        if " " not in run:
            # One token, the most common run by far: settle it with set lookups before any slicing.
            key = _key(run)
            if key in _EDGE or len(key) < 2:
                return None
            cue = _cue_before(norm, offset)
            if not cue and (
                not self._known(key, names.first) or key in names.ambiguous_first or key in _PLACES
            ):
                return None
            tokens = [(offset, offset + len(run), run)]
        else:
            tokens = [(t.start() + offset, t.end() + offset, t.group()) for t in _TOKENS.finditer(run)]
            cue = False
            # Peel titles, greetings and capitalised function words off both ends; a place word
            # ("West", "Lake", "Port") in front makes the whole run a place.
            while tokens and _key(tokens[0][2]) in _EDGE:
                key = _key(tokens[0][2])
                if key in _PLACE_BEFORE:
                    return None
                if key in _MONTHS_AS_NAMES and len(tokens) > 1 and _key(tokens[1][2]) in names.last:
                    break  # "April Hernandez"
                cue = cue or key in _CUE_WORDS
                tokens.pop(0)
            while tokens and (_key(tokens[-1][2]) in _STOP or tokens[-1][2].islower()):
                tokens.pop()
            while tokens and len(tokens[-1][2].rstrip(".")) == 1:
                tokens.pop()  # a trailing initial is more often a sentence's "A" or a list letter
            if not tokens:
                return None
            if _key(tokens[0][2]) in _PLACE_BEFORE:
                return None  # a street: "Avenida de Roberto Núñez", "Stretto Nanni"
            cue = cue or _cue_before(norm, tokens[0][0])
        start, end = tokens[0][0], tokens[-1][1]
        if _is_org_or_place(tokens, norm, start, names.last):
            return None
        words = [_key(t[2]) for t in tokens if len(t[2].rstrip(".")) > 1 and not t[2].islower()]
        if not words or len(words) > 4:
            return None
        first, last = words[0], words[-1]
        if len(words) == 1:
            if norm[end : end + 2].strip()[:1].isdigit():
                return None  # "Jan 5", "May 2024": a date
            if cue:
                return (start, end, 0.85) if first not in _STOP and first not in _PLACES else None
            if self._known(first, names.first) and (
                not _sentence_start(norm, start) or _next_word(norm, end) in _VERBS_AFTER
            ):
                return start, end, self.single_name_score
            return None
        is_first = self._known(first, names.first)
        is_last = self._known(last, names.last)
        first_amb = first in names.ambiguous_first or first in _PLACES
        last_amb = last in names.ambiguous_last or last in _PLACES
        if is_first and is_last:
            score = 0.6 if (first_amb and last_amb) else 0.9
        elif is_first and not first_amb and _plausible_unknown(last):
            score = 0.8
        elif is_last and not last_amb and _plausible_unknown(first):
            score = 0.7
        elif (
            len(words) > 2
            and any(self._known(w, names.first) for w in words[1:-1])
            and all(_plausible_unknown(w) for w in (first, last))
        ):
            score = 0.7  # "Katariina Juhani Kuisma": a known middle name between two unknown names
        elif cue and all(_plausible_unknown(w) for w in words):
            score = 0.8
        else:
            return None
        if cue:
            score = min(0.95, score + 0.1)
        return start, end, score

    @staticmethod
    def _known(word: str, names: frozenset[str]) -> bool:
        if word in names or _parts_in(word, names):
            return True
        if word.isascii():
            return False
        # "Adélaïde", "José": the census lists are unaccented.
        folded = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
        return folded != word and folded in names


def _key(token: str) -> str:
    return token.rstrip(".").lower().replace("’", "'")


def _parts_in(word: str, names: frozenset[str]) -> bool:
    """A hyphenated token ("mary-jane", "smith-jones") counts when each part is a known name."""
    return "-" in word and all(part in names for part in word.split("-"))


def _plausible_unknown(word: str) -> bool:
    """An unknown token that could still be a name (not a function word, place or city-like word)."""
    return word not in _STOP and word not in _PLACES and _CITY_AFFIX.search(word) is None


def _cue_before(norm: str, start: int) -> bool:
    """A title, greeting, sign-off or "my name is" right before ``start``."""
    words = norm[max(0, start - 24) : start].lower().split()
    if not words:
        return False
    last = words[-1].rstrip(".,:;-")
    if last in _CUE_BEFORE:
        return True
    return len(words) > 1 and f"{words[-2]} {last}" in _CUE_PHRASES


def _next_word(norm: str, end: int) -> str:
    after = norm[end : end + 14].split(maxsplit=1)
    return after[0].lower().rstrip(".,;:!?") if after and norm[end : end + 1] == " " else ""


def _sentence_start(norm: str, start: int) -> bool:
    before = norm[max(0, start - 4) : start].rstrip(" \t")
    return not before or before[-1] in _SENTENCE_END


def _is_org_or_place(
    tokens: list[tuple[int, int, str]], norm: str, start: int, surnames: frozenset[str]
) -> bool:
    """A run that names a street, company, city or country rather than a person."""
    last_key = _key(tokens[-1][2])
    if last_key in _ORG_OR_PLACE_TAIL:
        return True
    if len(tokens) > 1 and _key(tokens[0][2]) in _PLACES and last_key not in surnames:
        return True  # "Georgia Tech" is a place; "Sydney Anderson" is a person
    end = tokens[-1][1]
    after = norm[end : end + 16]
    tail = after.lstrip(" ,").split(" ", 1)[0].rstrip(".,;:").lower()
    if tail in _ORG_OR_PLACE_TAIL or after.startswith(
        (" & ", " and Sons", " und ", " e figli", " y Asociados")
    ):
        return True
    before_words = norm[max(0, start - 16) : start].split()
    if before_words and before_words[-1].rstrip(".").lower() in _PLACE_BEFORE:
        return True
    # "123 Smith Road", "Suite 4 Miller": a number right before a capitalised run is an address.
    near = norm[max(0, start - 3) : start]
    if (len(near) >= 2 and near[-1] == " " and near[-2].isdigit()) or near.rstrip().endswith("#"):
        return True
    # "Evans, Sherman and Phillips": surnames in a comma list ending in "and" name a firm.
    if len(tokens) == 1:
        before = norm[max(0, start - 40) : start]
        if before.endswith(", ") and after.startswith((" and ", ", ")):
            return True
        if _FIRM_HEAD.match(norm, end) or _FIRM_TAIL.search(before):
            return True
    return False
