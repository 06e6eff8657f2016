"""The cues: what a crisis, a plan or a cry for company looks like in Japanese and English.

Patterns run on ``Text.kana`` (NFKC, lower case, katakana folded to hiragana), so 「シニタイ」, 「ｼﾆﾀｲ」 and
「しにたい」 are one string: write Japanese in hiragana where a word is usually katakana. Each cue names the
signals it stands for (``implies``); ``assess`` turns the set of surviving signals into a level.

Why cues are phrases, not words: 「死」 and "kill" are everywhere (「死ぬほど忙しい」, "kill the process");
what marks a crisis is a first-person wish, a plan or an act. So "kill myself" is a cue and "killing me" is
not, 「死にたい」 is a cue and 「死ぬ」 on its own is not. ``topic`` cues (「希死念慮」, "self-harm", "lethal
dose") are also how professionals talk, so a professional or fictional frame silences them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cue:
    """One pattern and the signals a match stands for."""

    pattern: re.Pattern[str]
    implies: frozenset[str]
    lang: str  # "ja" | "en": which first-person and frame rules apply
    topic: bool = False  # also how a professional or a novelist talks: a frame silences it
    soft: bool = False  # a wish to vanish rather than to die: an explicit "not suicidal" caps it at concern
    plan: bool = False  # a plan on its own right (a written note, an act in progress): imminent alone
    acquired: bool = False  # a means obtained (a rope bought): imminent next to a plan, nothing alone
    # A bare declaration (「明日死ぬ」, "I'm going to do it"): idioms use the same words
    # (「テストで死ぬ」), so it counts only next to one of these signals (then imminent), never alone.
    needs: frozenset[str] = frozenset()
    farewell: bool = False  # a goodbye (a note, belongings given away): two of them, or one and a wish
    bare: bool = False  # no object (「終わりにしたい」): another object in the clause silences it
    hype: bool = False  # often hyperbole ("I'm going to die"): "lol", "if I have to" silence it


def _cue(lang: str, signals: str, *alternatives: str, needs: str = "", **flags: bool) -> Cue:
    """A cue matching any of ``alternatives`` (joined with ``|``: one pattern, one pass)."""
    pattern = re.compile("|".join(alternatives))
    return Cue(pattern, frozenset(signals.split()), lang, needs=frozenset(needs.split()), **flags)


# 「死」 and its evasions: 氏 (homophone), たひ (タヒ looks like 死), 4 (し), し.
_SHI = "(?:死|し|氏|たひ|4)"
_WANT = "(?:たい|たく(?=な[るっりれ])|たかった|てしまいたい|んでしまいたい|んじゃいたい)"
_A = "['’]?"  # apostrophe, straight or curly
_I = rf"\b(?:i|i{_A}m|im|i{_A}ve|ive|i{_A}d|i{_A}ll|me|my|myself)\b"
_D = r"d[i1!]e"
_SUICIDE = r"(?:suicide|s[u*]?[i1!*]c[i1!*]de|su[i1!]c[i1!]de|s u i c i d e|sewerslide)"

CUES: tuple[Cue, ...] = (
    # --- Japanese: intent -------------------------------------------------------------------------
    _cue("ja", "intent", rf"{_SHI}に{_WANT}|死んでしまいたい|死んじゃいたい"),
    _cue("ja", "intent", r"(?:自殺|じさつ)(?:し(?:たい|たく(?=な)|たかった)|願望|を?決意|するしかな)"),
    _cue(
        "ja",
        "intent",
        r"(?:自殺|じさつ)\s*(?:を|のこと|について|なんて|なんか|ばかり|ばっかり|しか){0,2}\s*考え(?!方|る授業)",
        topic=True,
    ),
    _cue("ja", "intent", r"希死念慮", topic=True),
    _cue(
        "ja",
        "intent",
        r"消え(?:てしまい|てなくなり|ちゃい|去り)?たい|いなくなりたい|この世から消え",
        soft=True,
    ),
    _cue(
        "ja",
        "intent",
        r"生きて(?:い)?たくな|生き(?:る|てる|ている)のを(?:やめ|辞め)たい|生きるのが(?:もう)?無理",
    ),
    _cue(
        "ja",
        "intent",
        r"(?:人生|自分|命|全部|すべて|全て)を?(?:終わら(?:せたい|せよう|せる)|終わりに(?:したい|する|しよう))",
        r"命を(?:絶|断)ちたい|この世を去りたい",
    ),
    # 「もう終わりにしたい」 with no object is about one's life; 「この案件はもう終わりにしたい」 is not.
    _cue(
        "ja",
        "intent",
        r"終わり(?:にしたい|にしよう|にする|にします)(?=[。．！!？?、\s…]|$|な|よ|ね|です|けど|って|と思|わ)"
        r"|終わらせたい(?=[。．！!？?、\s…]|$|な|よ|ね|です|けど|って|と思|わ)",
        bare=True,
    ),
    _cue(
        "ja",
        "intent",
        r"死んだ(?:方|ほう)が(?:まし|いい|楽)|死ぬしかな|死んだら楽|死ねたら(?:いい|楽)|死ねば楽",
        r"(?:死んで|消えて)(?:しまえ|しまえれ)たら|死んじゃえたら|(?:これで|やっと|心置きなく|安心して)死ね",
    ),
    _cue(
        "ja",
        "intent",
        r"死んで(?:い)?れば(?:いい|よかった)|二度と(?:目覚め|起き|目が覚め)な(?:ければ|きゃ|かったら)",
        r"目が覚めな(?:ければ|きゃ|かったら)|(?:明日|朝)(?:が|なんか|なんて)?来な(?:ければ|きゃ|かったら)",
        r"生まれてこな(?:ければ|きゃ|かったら)",
    ),
    _cue(
        "ja",
        "intent",
        r"(?:私|わたし|僕|ぼく|俺|おれ|あたし|自分)(?:を|のことを?)殺して(?:くれ|ほしい|欲しい|もらい)",
        r"誰か(?:が)?殺して(?:くれ|ほしい|欲しい)",
    ),
    # --- Japanese: intent with a plan (volitional or decided) ----------------------------------------
    _cue(
        "ja",
        "intent plan",
        rf"{_SHI}のう(?:と|か|って)|{_SHI}ぬ(?:こと|って|と)(?:に)?決め|{_SHI}ぬ(?:つもり|予定)|もう{_SHI}ぬ(?![ほか])",
        r"死んでやる|命を(?:絶|断)(?:とう|ちます|つ(?:つもり|予定|ことに))|(?:帰って|戻って)(?:こない|来ない)つもり",
    ),
    _cue(
        "ja",
        "intent plan",
        r"(?:自殺|じさつ)(?:する|しよう)(?:と思|つもり|予定|ことに)|今日で最後にする",
        r"(?:自殺|じさつ)(?:します|しよう(?!とする)|する(?=[。．！!、\s]|$|から|よ|ね|わ|と決|しかな))",
    ),
    # A bare 「死ぬ」「死にます」「消えます」: 「今週中に死ぬ」 is a plan, 「テストで死ぬ」 and
    # 「電池が死ぬ」 are not (hence no で/が/は/の before it), and alone it is too often an idiom.
    _cue(
        "ja",
        "intent",
        r"(?<![でがはのもをばらとて])(?:死(?:ぬ(?=[。．！!、\s]|$|ね|わ|よ|から)|にます)|消え(?:ます|る(?=[。！!]|$|つもり)))",
        needs="timeframe plan means",
    ),
    _cue("ja", "intent plan", r"(?:やる|実行する|決行する)(?:つもり|予定|から|[。．！!]|$)", needs="method"),
    _cue(
        "ja",
        "intent plan means",
        r"首を吊(?:る|ります|ろう|って)|首吊り(?:を|する)|(?:ここ|屋上|橋|今)から飛び降り(?:る|ます|よう)(?![のこ])",
        r"飛び降り(?:ます|よう(?!とする)|る(?=[。．！!、\s]|$|つもり|予定|から|ね|わ|よ|って|ことにし|しかな|と決))",
    ),
    _cue(
        "ja",
        "intent plan means",
        r"もう飛び降り|(?:線路|ほーむ|電車|列車|快速|急行|特急|新幹線|とらっく)に?飛び込(?:む|もう|みます|んで死)",
        r"飛び込もう|(?:od|おーばーどーず)(?:しよう|する(?:つもり|予定|ため|用)|したい|用の)",
    ),
    _cue("ja", "intent plan means", r"ろーぷ(?:を|は)?(?:かける|掛ける)場所|首を吊る(?:場所|ため)"),
    # Imagined relief from a method (「首を吊ったら楽になれる」), a lethal dose taken on purpose, hoarding.
    _cue(
        "ja",
        "intent means",
        r"(?:首を吊|飛び降り|飛び込|死ん)(?:ったら|たら|だら|んだら|れば)楽に|飲(?:んで|めば|んだら)(?:死|終わりに)",
        r"(?:大量に|まとめて|一気に)飲(?:む|もう|んで|めば|んだら)",
        r"(?:練炭|七輪)[^。]{0,20}(?:目張り|車内|閉め切)|目張り[^。]{0,20}(?:練炭|七輪)",
        r"(?:薬|睡眠薬|眠剤|錠剤|くすり|市販薬|処方薬)[^。]{0,12}(?:貯め|ため|溜め)て(?:ある|いる|る|た)",
    ),
    _cue("ja", "intent", r"死ぬこと(?:ばかり|を|しか)考え|いっそ(?:死|消え)"),
    # Acquiring a means: alone it is a purchase; next to a plan ("今夜使うつもり") it is imminent.
    _cue(
        "ja",
        "means",
        r"練炭|(?:ろーぷ|縄)(?:を|は)?(?:もう)?(?:買|用意|準備)|ろーぷ(?:を|は)?(?:かけ|掛け)た",
        acquired=True,
    ),
    _cue(
        "ja",
        "plan",
        r"遺書(?:を|は|も)?[^。]{0,12}(?:書い(?!ておき|てみ)|書き終え|書きまし|用意|残し|置い|入れ|準備)",
        plan=True,
        farewell=True,
    ),
    # Goodbyes: one is a farewell at work (「送別会でさようなら」); two, or one next to a wish, a plan.
    _cue(
        "ja",
        "plan",
        r"遺書|最後のめっせーじ|今までありがとう|今までお世話|さようなら|さよなら|先立つ不孝|もう会えない|引き取り先",
        r"お別れ(?:です|します|だ|を言)|(?:家族|みんな|両親|親|子ども|子供)(?:宛て?|へ)の(?:手紙|めっせーじ)",
        r"手紙を書き(?:終え|残し|まし)|(?:全部|すべて|全て)[^。]{0,10}(?:処分し|あげ|譲っ|手放し)",
        r"を[^。]{0,8}(?:預け|譲っ)た",
        farewell=True,
    ),
    _cue(
        "ja",
        "plan",
        r"決行|実行する|準備は?(?:でき|して)|あとは[^。]{0,12}だけ|覚悟(?:は|が|も)?(?:でき|した)",
    ),
    _cue("ja", "plan", r"つもり|予定|決めた|決めてる|決めました|決心"),
    # --- Japanese: means --------------------------------------------------------------------------
    _cue(
        "ja",
        "intent means",
        r"何錠飲めば死|飲めば死ね|(?:楽|確実)に死ね|死ねる(?:方法|高さ|場所|薬)",
        r"(?:自殺|死ぬ)(?:する)?(?:のに|ための|為の)?(?:一番)?(?:確実な|楽な|簡単な)?方法",
        r"死(?:ぬ|ねる)(?:ための|ために必要な|のに必要な|のに十分な|だけの)?(?:薬|量)|死ねる量",
        r"何(?:錠|階|めーとる)[^。]{0,12}死(?:ね|ぬ|な)",
    ),
    _cue("ja", "means", r"致死量", topic=True),
    _cue(
        "ja",
        "means",
        r"(?:薬|睡眠薬|錠剤|くすり)を?(?:全部|まとめて|大量に?|たくさん|ためて|貯めて)|練炭|ろーぷ(?:を|は)?(?:買|かけ|掛け|用意)",
    ),
    # A method ("method": what a bare 「やる」 needs next to it) and the places and tools of one.
    _cue("ja", "means method", r"首を吊|首吊り|飛び降り|飛び込|踏み台|七輪|目張り|樹海"),
    _cue("ja", "means", r"包丁|刃物|ないふ|屋上|線路|橋の上"),
    _cue(
        "ja",
        "in_progress means",
        r"(?:欄干|手すり|手摺|柵|ふぇんす)の(?:外|上|向こう)に?(?:立|い|座|出|乗)",
        plan=True,
        topic=True,
    ),
    _cue(
        "ja",
        "in_progress means",
        r"(?:薬|睡眠薬|錠剤)を?(?:全部|大量に?|たくさん|\d+錠)飲(?:んだ|んじゃった|みました)",
        r"(?:od|おーばーどーず)(?:した|しちゃった)|[1-9]\d+錠(?:を|も)?飲(?:んだ|んで|みました|んじゃ)",
        plan=True,
    ),
    _cue("ja", "in_progress self_harm", r"血が止まらな|深く切っ", plan=True),
    # --- Japanese: self-harm ----------------------------------------------------------------------
    _cue("ja", "self_harm", r"りすか|りすとかっと|あむか|自傷(?!行為の心理|の心理)", topic=True),
    _cue(
        "ja",
        "self_harm",
        r"(?:腕|手首|脚|足|太もも)を(?:切|噛)|かったーで切|自分を(?:傷つけ|罰し|罰す|殴)|頭を(?:壁に)?打ち付け|押し付けて自分",
        r"(?:腕|手首|太もも|太腿)を[^。、]{0,8}(?:切っ|切り|切る|傷つけ|刺し|焼い)",
    ),
    # --- Japanese: timeframe, hopelessness, reliance ----------------------------------------------
    _cue(
        "ja",
        "timeframe",
        r"今夜|今晩|今日|明日|明朝|今から|今すぐ|週末|来週|来月|今週中|今月中|年内|夜中|深夜|誕生日|今、|今ここ",
        r"(?:月|火|水|木|金|土|日)曜",
    ),
    _cue(
        "ja",
        "hopelessness",
        r"生き(?:て(?:い)?る|る)(?:意味|価値|理由)(?:が|は|も|なんて)?(?:な|わから|分から)",
    ),
    _cue(
        "ja",
        "hopelessness",
        r"価値(?:の|が)?ない(?:人間|存在)|希望(?:が|も|は)?(?:な|持てな)|誰からも必要とされ|必要とされて(?:い)?な",
    ),
    _cue(
        "ja",
        "hopelessness",
        r"一人ぼっち|ひとりぼっち|何もかも(?:どうでもいい|嫌)|全部どうでもいい|無駄な気がする|楽になりたい",
    ),
    _cue(
        "ja",
        "hopelessness",
        r"生きていても楽しくな|生きてても楽しくな|もう疲れた|気にして(?:い)?ない|消えてしまいたいくらい",
    ),
    _cue(
        "ja",
        "reliance_on_ai",
        r"あなた(?:しか|だけ)(?:が|に)?(?:頼れ|話せ|理解|味方|救い|信用|い)|あなた(?:と)?(?:話している時|話す時)だけ",
    ),
    _cue(
        "ja",
        "reliance_on_ai",
        r"あなた(?:が|と)?(?:いないと|いなくなったら|いなければ|話さないと)|あなた(?:さえ|が)いれば(?:いい|十分)",
    ),
    _cue(
        "ja",
        "reliance_on_ai",
        r"唯一の(?:理解者|友達|友だち|味方|話し相手)|人間(?:は|の友達は|なんて)(?:もう)?(?:いらない|信用できない|必要ない)",
    ),
    _cue("ja", "reliance_on_ai", r"あなたと(?:だけ|しか)話"),
    # --- Japanese: harm to others (a threat counts only with a time, a weapon or preparation) ------
    _cue(
        "ja",
        "violence",
        r"(?:殺|刺)(?:す|してやる|しに行く|しにいく|しに行)(?!方法|か|ための|為の|には)|殺してやる",
    ),
    # --- English: intent ------------------------------------------------------------------------------
    _cue(
        "en",
        "intent",
        r"\bkill(?:ing|ed)? my ?self\b|\bk[i1!*]ll(?:ing|ed)? my ?self\b",
        r"\b(?:wanna|want to|gonna|going to|should|might|could|i|just|literally) kms\b",
        r"\bunaliv(?:e|ing) my ?self\b",
    ),
    _cue(
        "en",
        "intent",
        r"\b(?:end|ending|take|taking) my (?:own )?life\b|\bend(?:ing)? it all\b",
        r"\bmy suicide\b",
    ),
    # A declared act: "I'm going to kill myself" is a plan in itself (with or without a date).
    _cue(
        "en",
        "intent plan",
        rf"\b(?:going to|gonna|about to|i{_A}ll|i will) (?:kill my ?self|end my (?:own )?life|end it(?: all)?"
        rf"|take my (?:own )?life|commit {_SUICIDE})\b(?! if\b)",
    ),
    _cue(
        "en",
        "intent",
        rf"\b(?:want|wanna|wanted|ready|deserve|need|wish|like) to {_D}\b",
        rf"\bjust {_D}\b|\b(?:want|wanna|wish) to be dead\b",
    ),
    # "One more meeting and I'm going to die lol."
    _cue("en", "intent", rf"\b(?:going to|gonna) {_D}\b", hype=True),
    _cue(
        "en",
        "intent",
        rf"\b(?:don{_A}t|do not|dont) (?:want to|wanna) (?:live|be alive|be here|exist|wake up|go on)\b",
        soft=True,
    ),
    _cue(
        "en",
        "intent",
        rf"\b(?:want|going|gonna|wanna)(?: to)? end it\b|\b(?:i{_A}m|i am) ending it\b",
        r"\bi end it\b",
    ),
    _cue(
        "en",
        "intent",
        r"\bwant (?:it all|everything|this|my life) to end\b|\bwant (?:it all|my life) to be over\b",
        r"\btired of (?:living|being alive|life)\b",
    ),
    _cue(
        "en",
        "intent",
        r"\bsuicidal\b",
        rf"\b(?:thoughts? (?:of|about|abt|bout)|think(?:ing)? (?:about|of|abt|bout)|consider(?:ing)?"
        rf"|commit(?:ting)?|attempt(?:ing)?) {_SUICIDE}",
        topic=True,
    ),
    _cue("en", "intent", rf"{_SUICIDE} (?:is all i think|feels like|seems like|is the only)"),
    _cue(
        "en",
        "intent",
        rf"\bbetter off dead\b|\bwish (?:i|i{_A}d) (?:was|were|been) dead\b|\brather be dead\b",
        rf"\b(?:never|not|don{_A}t) wake up\b",
    ),
    _cue(
        "en",
        "intent",
        rf"\bhop(?:e|ing) (?:i|i{_A}ll) (?:get|gets|will get) "
        r"(?:hit by (?:a |the )?(?:bus|car|truck|train|lorry)|run over|killed)\b",
        r"\bwish (?:something|someone|somebody|a \w+) would (?:just )?kill me\b",
        rf"\b(?:better|happier|easier)(?: off)? (?:if|when) i(?:{_A}m| am| was| were|{_A}d| had)? "
        rf"(?:dead|gone|not here|not around|(?:wasn{_A}t|weren{_A}t) (?:here|around|alive|in it)|died)\b",
    ),
    _cue(
        "en",
        "intent",
        rf"\bwish (?:i|i{_A}d) (?:was|were|had) never (?:been )?born\b",
        rf"\bcan{_A}t go on (?:living|like this)\b",
    ),
    _cue("en", "intent", r"\b(?:disappear|vanish) (?:for good|forever)\b", soft=True),
    # --- English: plans, means, acts --------------------------------------------------------------
    _cue(
        "en",
        "plan",
        rf"\b(?:my|i wrote|i{_A}ve written|wrote my) (?:suicide )?note\b",
        r"\bby the time you read this\b",
        plan=True,
    ),
    _cue(
        "en",
        "plan",
        r"\b(?:decided|planning|plan|my decision)\b|\bjoin (?:her|him|them)\b",
        r"\bmade (?:up )?my (?:mind|decision)\b|\bmind is made up\b|\bjust waiting (?:for|until)\b",
    ),
    # Goodbyes: one is a farewell at work or a move; two, or one next to a wish, are a plan.
    _cue(
        "en",
        "plan",
        r"\bgoodbye\b|\blast message\b|\bset a date\b|\b(?:given|gave|giving) away\b",
        r"\bwrote (?:goodbye |farewell )?(?:letters?|notes?) (?:to|for)\b",
        r"\b(?:goodbye|farewell) (?:letters?|notes?)\b",
        rf"\bwon{_A}t need (?:it|them|this|these|my \w+) (?:anymore|after|where)\b|\bsaid my goodbyes\b",
        rf"\beverything{_A}?s? (?:is )?(?:arranged|sorted|in order)\b|\baffairs (?:are )?in order\b",
        rf"\b(?:they|you|someone|somebody){_A}?(?:ll| will) find (?:them|it|me|my body)\b",
        farewell=True,
    ),
    _cue(
        "en",
        "plan",
        rf"\bknow what i{_A}m going to do\b|\btonight(?:{_A}s| is) the night\b",
        rf"\bi{_A}ll do it\b|\bgoing to use it\b",
        r"\bfor when i (?:finally )?do it\b",
    ),
    _cue(
        "en",
        "intent plan",
        rf"\b(?:i{_A}m|i am|im) (?:going to|gonna|about to) do it\b",
        rf"\bi{_A}ll do it (?:tonight|today|tomorrow)\b",
        needs="method",
    ),
    _cue(
        "en",
        "means",
        r"\bnoose\b",
        r"\b(?:bought|got|have|purchased|ready) (?:a |the |my )?(?:rope|noose|gun|pistol|rifle|charcoal)\b",
        r"\b(?:rope|noose|gun) (?:is )?ready\b",
        acquired=True,
    ),
    _cue(
        "en",
        "intent plan means",
        r"\bhang my ?self\b|\bshoot my ?self\b|\boverdose on my\b|\bgoing to jump\b",
        r"\b(?:use|using) (?:it|them|the gun|a gun|the pills) on my ?self\b",
        r"\b(?:drive|crash|steer) (?:my )?(?:car|truck)? ?(?:into|off) "
        r"(?:a |the )?(?:wall|tree|truck|cliff|river)\b",
        r"\b(?:saved up|saving up|stockpil\w*|hoard\w*|been saving|keep a (?:bottle|stash))\b[^.!?\n]{0,30}"
        r"\b(?:pills|tablets|meds|medications?|insulin|oxy\w*)\b",
        r"\b(?:take|swallow|down)(?:ing)? (?:them all|all of them|all (?:of )?(?:my|the|these|those) "
        r"(?:sleeping )?(?:pills|tablets|meds))\b(?![^.!\n]{0,80}\?)",
    ),
    _cue(
        "en",
        "intent plan means",
        r"\bjump(?:ing)? (?:off|from) (?:of )?(?:the |a |this |that |my |an )?(?:\w+ )?"
        r"(?:bridge|roof|building|overpass|balcony|cliff|window|ledge|tower|floor|parking \w+)\b",
        r"\bjump off\b|\b(?:want|wanna|going|gonna|planning) to jump(?= off| from|[.!,]|$)",
        r"\b(?:step|jump|throw my ?self|walk|lie down) in front of (?:a |an |the )?(?:next )?[\w:]{0,8} ?"
        r"(?:train|bus|truck|car|subway|lorry)\b|\bthrow my ?self (?:off|under)\b",
        r"\b(?:tied|made|tying|making|hung|set up|put up) (?:a |the |my )?noose\b",
        topic=True,  # also how a novelist or a player talks ("my character jumps off the bridge")
    ),
    _cue(
        "en",
        "intent means plan",
        r"\b(?:garage|car)\b[^.!?\n]{0,30}\bengine running\b|\bengine running\b[^.!?\n]{0,30}\bgarage\b",
        r"\b(?:standing|sitting|stood|sat|perched) on (?:the|a) (?:ledge|railing|parapet)\b",
        r"\b(?:standing|sitting) on the edge of (?:the |a )?(?:roof|bridge|building|cliff)\b",
        topic=True,
    ),
    _cue(
        "en",
        "intent means",
        rf"\b(?:best|easiest|quickest|painless|most painless|surest|quick) way to "
        rf"(?:kill my ?self|{_D}|end my life|commit suicide)\b",
    ),
    _cue(
        "en",
        "intent means",
        rf"\bhow (?:many|much)\b[^.?!\n]{{0,40}}\b(?:would it take|does it take|to take) "
        rf"to (?:{_D}|overdose|kill)\b",
    ),
    _cue(
        "en",
        "intent means",
        rf"\bhow long does it take to {_D}\b|\btall enough to\b[^.?!\n]{{0,20}}\b{_D}\b",
        rf"\benough [a-z ]{{0,20}}pills to {_D}\b",
        rf"\bhow (?:many|much)\b[^.?!\n]{{0,50}}\b(?:to|and|till|until|before) (?:{_D}|overdose|not wake up"
        rf"|never wake up|kill (?:me|my ?self)|be (?:fatal|lethal)|end it)\b",
        rf"\bhigh enough (?:to (?:{_D}|kill)|that it{_A}?s? (?:certain|fatal|sure|quick))\b",
    ),
    _cue("en", "means", r"\b(?:lethal|fatal|toxic) dose\b|\boverdose\b", topic=True),
    _cue(
        "en",
        "means method",
        r"\b(?:pills|tablets|rope|noose|gun|rifle|pistol|knife|bridge|roof|ledge|train tracks?)\b",
    ),
    _cue("en", "means", r"\binsulin\b"),
    _cue(
        "en",
        "plan",
        r"\b(?:gave|given|giving) (?:away )?(?:my )?(?:dog|cat|pets?|guitar|things|stuff|belongings"
        r"|possessions|savings|car|bike|books|clothes|jewell?ery|games|plants) (?:away )?to\b",
        farewell=True,
    ),
    _cue(
        "en",
        "in_progress means",
        r"\b(?:took|swallowed|taken|downed) "
        r"(?:a whole bottle|all (?:of )?my|\d+ (?:pills|tablets)|an overdose|too many)",
        r"\b(?:took|swallowed|taken|downed|overdosed on) (?:everything|all (?:of )?(?:my|the)"
        r"|a (?:whole |full )?bottle|the (?:whole |entire )?bottle|a handful|\d{2,}|too many)\b"
        r"(?=[^.!?\n]{0,40}\b(?:pills?|tablets?|meds|medications?|medicine|antidepressants|sleeping"
        r"|painkillers|tylenol|paracetamol|acetaminophen"
        r"|ibuprofen|insulin|oxy\w*|of (?:my|them))\b)",
        plan=True,
    ),
    _cue("en", "in_progress self_harm", rf"\bcut too deep\b|\bwon{_A}t stop bleeding\b", plan=True),
    _cue("en", "self_harm", r"\bcut (?:my ?self )?(?:deep|deeper|deep enough|vertically)\b"),
    # --- English: self-harm -------------------------------------------------------------------------
    _cue(
        "en",
        "self_harm",
        r"\b(?:cut|cutting|burn|burning|burned|hurt|hurting|harm|harming|hit|hitting|punch|punching"
        r"|scratch|scratching)\b (?:my ?self|my (?:arms?|wrists?|legs?|skin|thighs?))\b",
    ),
    _cue("en", "self_harm", r"\bself[- ]?harm(?:ing)?\b|\bself[- ]?injur", topic=True),
    _cue(
        "en",
        "self_harm",
        r"\bwant(?:ed)? it to hurt\b|\bpunish(?:ing)? my ?self\b",
        r"\bso (?:that )?it (?:would|will) hurt\b",
    ),
    _cue("en", "self_harm", r"\b(?:started|been|keep|kept|stop|relapsed on) (?:cutting|self[- ]?harm)"),
    # --- English: timeframe, hopelessness, reliance --------------------------------------------------
    _cue(
        "en",
        "timeframe",
        r"\b(?:tonight|today|tomorrow|this weekend|right now|next week"
        r"|this (?:week|evening|morning|afternoon)"
        r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|birthday|at midnight"
        r"|in (?:a|an|\d+|two|three|a few) (?:hours?|days?|minutes?))\b",
    ),
    _cue(
        "en",
        "hopelessness",
        r"\bhopeless\b|\bpointless\b|\bworthless\b",
        rf"\bno point (?:in )?(?:living|anything|going on)\b|\bwhat{_A}s the point\b",
    ),
    _cue(
        "en",
        "hopelessness",
        rf"\bcan{_A}t see a future\b|\bno future\b|\bnothing (?:matters|will ever)\b",
        r"\bburden (?:to|on) everyone\b",
    ),
    _cue(
        "en",
        "hopelessness",
        r"\b(?:nobody|no one|no-one) (?:cares|would notice|would miss)\b",
        r"\bfeel (?:so )?(?:alone|empty)\b|\bempty all the time\b",
    ),
    _cue(
        "en",
        "hopelessness",
        r"\ba failure\b|\bnever (?:get|gets) better\b|\bwill ever change\b",
        r"\bbetter off without me\b",
    ),
    _cue(
        "en",
        "reliance_on_ai",
        rf"\byou{_A}re (?:the only one|my only|all i have)\b",
        r"\bonly (?:one|friend) i (?:have|can)\b|\ball i have\b",
    ),
    _cue(
        "en",
        "reliance_on_ai",
        rf"\bi need you\b|\bdon{_A}t (?:ever )?leave me\b|\brather talk to you\b",
        rf"\bcan{_A}t live without (?:you|our|talking)",
    ),
    _cue(
        "en",
        "reliance_on_ai",
        rf"\bwhat i{_A}d do without you\b|\bdon{_A}t need (?:real )?people\b",
        r"\bi have no one else\b|\bno one else\b",
    ),
    # --- English: harm to others (with a time, a weapon or a place) ---------------------------------
    _cue(
        "en",
        "violence",
        r"\b(?:kill|shoot|stab|murder|hurt)\b (?:my |the |that |some |all the )?"
        r"(?:co-?worker|boss|ex|neighbou?r|wife|husband|teacher|classmates?|people|everyone)\b",
        r"\b(?:kill|shoot|stab|murder|strangle)\b (?:my |that |his |her )(?:step)?"
        r"(?:dad|father|mom|mum|mother|brother|sister|son|daughter|roommate|landlord|manager|supervisor"
        rf"|bully)\b(?!{_A}s)",
    ),
    _cue(
        "en",
        "violence means",
        r"\bbring(?:ing)? (?:a |my |my dad['’]?s )?(?:gun|rifle|knife|weapon|bomb) "
        r"to (?:school|work|class|the office)\b",
    ),
)
"""Every cue, Japanese and English: a text is matched against both (people mix languages)."""
