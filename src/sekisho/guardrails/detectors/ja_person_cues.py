"""The words ``ja_person`` looks for: cues after a name, labels before one, and words that are not names.

Kept apart from the detector's logic so that the lists can grow without the module doing so. Every
pattern is an alternation of literals (the regex engine then skips ahead by first character).
"""

from __future__ import annotations

import re

KANJI_KATA = r"\u4e00-\u9fff\u3005\u30a1-\u30fa\u30fc"
# Cues after a name. ``hon``: honorifics and titles (a one-kanji surname may stand before them);
# ``self``: self-introductions and a reading in parentheses; ``verb``: a particle whose verb wants a
# person (「と会う」「から電話」「がそう言って」). Written as alternations of literals so the regex engine
# skips ahead by first character; whether a name character touches the cue is checked in Python.
HON = (
    r"様(?![式子々相態])|さま|さん|氏(?!名)|君|くん|ちゃん|殿|先生|先輩|教授|准教授|助教|博士|医師|看護師|"
    r"薬剤師|弁護士|税理士|会計士|司法書士|行政書士|社長|副社長|会長|専務|常務|取締役|監査役|執行役員|顧問|"
    r"部長|次長|課長|係長|主任|主査|室長|所長|支店長|店長|局長|理事長|院長|園長|校長|選手|監督|議員|講師|宛"
)
SELF = (
    r"と申します|と申す|でございます|です(?=[。、!！\s])|より(?=[\s。\n]|$)|\((?=[ぁ-んァ-ヶー\s・]{2,20}\))"
)
VERB = (
    r"と(?=会|話|相談|打ち?合わ?せ|面談|面会|食事|飲|一緒|電話|連絡|約束|待ち合わせ)"
    r"|に(?=会|話し|聞|相談|伝え|頼|渡|送っ|連絡|電話|依頼|お願い|教え|紹介|メール|確認して)"
    r"|が(?=言|話し|来|休|担当|対応|出張|参加|退職|入社|異動|出席|欠席|同席|来社|来店|不在|戻|帰|作成|承認|"
    r"説明|発表|報告|伺|そう)"
    r"|から(?=連絡|電話|メール|聞|返信|返事|報告|伺|話|言われ|頼まれ)|へ(?=連絡|電話|伝え|メール|折り?返し)"
    r"|も(?=参加|出席|同席|来)"
)
# Three patterns, not one with named groups: a plain alternation of literals keeps the regex engine's
# first-character filter, and the combined pattern was six times slower than the three together.
CUES = (("hon", re.compile(HON)), ("self", re.compile(SELF)), ("verb", re.compile(VERB)))
# (cue, whether 姓 and 名 were both found) -> score.
SCORES = {
    ("hon", True): 0.9, ("hon", False): 0.85, ("self", True): 0.85, ("self", False): 0.85,
    ("verb", True): 0.85, ("verb", False): 0.7,
}  # fmt: skip
TITLES2 = frozenset({"部長", "課長", "社長", "店長", "次長", "係長", "室長", "所長", "局長", "院長"})
TITLE_END = re.compile(rf"(?:{HON})$")
# Words that take 様/さん and are no one's name; skipping them here saves a Sudachi call per cue.
NOT_BEFORE = re.compile(
    r"(?<![\u4e00-\u9fff\u3005])(?:お客|皆|疲れ|苦労|世話|馳走|かげ|互い|同|奥|王|神|仏|お子|娘|息子|父|母|兄|姉|主人|旦那|家族|各位|"
    r"担当者|利用者|患者|方々|得意|大家|殿|予定|中|後|前)\s?$"
)
# Field labels before a name: 「氏名：」「担当：」「出席者：」…; the separator is checked after the label.
PREFIX = re.compile(
    r"氏名|お名前|名前|担当医|主治医|担当|宛名|契約者|申込者|申請者|代表者|代表取締役|代表|受取人|依頼人|"
    r"依頼主|差出人|送り主|署名|記入者|名義人|名義|患者|作成者|承認者|責任者|参加者|出席者|欠席者|同席者|"
    r"司会|書記|議長|発表者|報告者|対応者|貸主|借主|家主|入居者|保証人|緊急連絡先|扶養親族|配偶者|世帯主|"
    r"被保険者|受診者|予約者|利用者|購入者|注文者|面接官|応募者|候補者|From|from|FROM|To|TO|Cc|CC|Name|name"
)
LABEL_TAIL = re.compile(r"(?:者|名|人|様|社長)*\s*(?:[:：]|は|\s)\s*")
# A kana value after a reading label is a name whatever the dictionary says (「フリガナ：ヤマダ タロウ」).
KANA_LABEL = re.compile(
    r"(?:フリガナ|ふりがな|カナ氏名|(?:氏名|お?名前)\s?\((?:カナ|フリガナ|ふりがな)\)|カナ|よみがな|読み仮名)\s*(?::\s*|\s+)"
    r"([ァ-ヶー]+(?:\s[ァ-ヶー]+)?|[ぁ-ゖー]+(?:\s[ぁ-ゖー]+)?)"
)
# A reading in parentheses right after a name, or after its honorific.
READING = re.compile(
    r"\s?(?:様|さま|さん|くん|君|ちゃん|氏|先生|殿)?\s?[（(]([ぁ-んァ-ヶー][ぁ-んァ-ヶー\s・]{0,19})[）)]"
)
WINDOW = 12
BATCH = 4_000
LIST_SEP = re.compile(r"\s?[、,・/と]\s?")
DIGITISH = frozenset("0123456789,.%$¥")
# One-kanji words that are listed as surnames but, before an honorific, are family or common nouns.
NOT_ONE = frozenset(
    "奥姉兄母父神王殿仏主妻夫嫁孫客皆僕俺私君彼方人円件個名日月年時分秒回歳本枚台冊点社号階室番位度割倍"
)
