"""Where to turn: help lines by region, configurable per organisation (an EAP line, a campus service).

The defaults are the numbers the operators publish, as the author knew them (checked against memory of
the operators' pages, not fetched at build time: nothing here is looked up at run time either); each is
marked with its region so a Japanese line is never offered as the only help to someone in Ohio. Numbers
and hours change: an organisation should review them and may replace them
(``safe_response(..., resources=...)``).

- Japan: よりそいホットライン 0120-279-338 (24 hours, free; operated by 社会的包摂サポートセンター);
  いのちの電話 ナビダイヤル 0570-783-556 (10:00-22:00) and the free line 0120-783-556 (16:00-21:00 daily,
  and 24 hours on the 10th of each month); こころの健康相談統一ダイヤル 0570-064-556
  (厚生労働省: routes to the prefecture's centre; hours vary by prefecture). Emergency: 119 (ambulance),
  110 (police).
- United States: 988 Suicide & Crisis Lifeline (call or text 988, 24 hours). Emergency: 911.
- Elsewhere: the local emergency number, and findahelpline.com (a directory of free lines by country,
  run by Throughline) — never a made-up national number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HelpResource:
    """A place to turn to: what it is called, how to reach it, when, and where it serves.

    ``region`` is an ISO 3166-1 alpha-2 code ("JP", "US") or "*" for anywhere; ``locale`` is the language
    the name and hours are written in ("ja", "en"). ``emergency`` marks an emergency number (listed last,
    with "if you are in immediate danger").
    """

    name: str
    contact: str
    hours: str
    region: str
    locale: str
    emergency: bool = False


DEFAULT_RESOURCES: tuple[HelpResource, ...] = (
    HelpResource("よりそいホットライン", "0120-279-338", "24時間・無料", "JP", "ja"),
    HelpResource("いのちの電話（ナビダイヤル）", "0570-783-556", "10時〜22時", "JP", "ja"),
    HelpResource(
        "いのちの電話（フリーダイヤル）", "0120-783-556", "毎日16時〜21時・毎月10日は24時間", "JP", "ja"
    ),
    HelpResource("こころの健康相談統一ダイヤル", "0570-064-556", "都道府県により異なる", "JP", "ja"),
    HelpResource("救急車", "119", "24時間", "JP", "ja", emergency=True),
    HelpResource("警察", "110", "24時間", "JP", "ja", emergency=True),
    HelpResource(
        "Yorisoi Hotline (Japanese; some lines in other languages)",
        "0120-279-338",
        "24 hours, free",
        "JP",
        "en",
    ),
    HelpResource("Inochi no Denwa (Japanese)", "0570-783-556", "10:00-22:00", "JP", "en"),
    HelpResource("Ambulance in Japan", "119", "24 hours", "JP", "en", emergency=True),
    HelpResource("Police in Japan", "110", "24 hours", "JP", "en", emergency=True),
    HelpResource("988 Suicide & Crisis Lifeline (call or text)", "988", "24 hours", "US", "en"),
    HelpResource("Emergency services", "911", "24 hours", "US", "en", emergency=True),
    HelpResource("Find a free helpline in your country", "https://findahelpline.com", "directory", "*", "en"),
    HelpResource(
        "Your local emergency number", "your local emergency number", "24 hours", "*", "en", emergency=True
    ),
    HelpResource("各国の相談窓口の一覧", "https://findahelpline.com", "検索サイト", "*", "ja"),
    HelpResource("お住まいの地域の緊急通報番号", "現地の緊急番号", "24時間", "*", "ja", emergency=True),
)
"""Japan, the United States, and the international fallbacks, each in Japanese and English where useful."""


def region_of(locale: str) -> str:
    """The region of a BCP 47 locale: "ja-JP" → "JP", "en_US" → "US"; a bare "ja" means Japan."""
    parts = locale.replace("_", "-").split("-")
    if len(parts) > 1 and len(parts[-1]) == 2:
        return parts[-1].upper()
    return "JP" if parts[0].lower() == "ja" else "*"


def resources_for(
    region: str, language: str, resources: Sequence[HelpResource] | None = None
) -> list[HelpResource]:
    """The resources for a region, written in ``language`` when available, emergency numbers last.

    Resources for the region come first; the international ones ("*") are added when the region has no
    non-emergency line of its own, so nobody is left with only "call the police". Within a region a
    resource in the reader's language is preferred; if there is none, the other language's entries are
    used (a phone number is still a phone number).
    """
    pool = list(DEFAULT_RESOURCES if resources is None else resources)

    def pick(where: str) -> list[HelpResource]:
        found = [r for r in pool if r.region.upper() == where.upper()]
        same = [r for r in found if r.locale == language]
        return same or found

    chosen = pick(region) if region != "*" else []
    if not [r for r in chosen if not r.emergency]:
        chosen += [r for r in pick("*") if r not in chosen]
    return [r for r in chosen if not r.emergency] + [r for r in chosen if r.emergency]
