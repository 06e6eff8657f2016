"""Templates and value pools for the ``holdout`` split of ``generate.py``.

Written after the detectors' weaknesses on ``test.jsonl`` were known, by someone who had not read
those failures, and never used for tuning: only scored before and after a round of changes. It shares
no template, name, place or building with ``dev``/``test`` (``generate.py`` asserts the templates and
surnames are disjoint), and has its own seed.

Genres: 社内メール, 請求書, 顧客対応ログ, 人事書類, LINE-style chat, 議事録, 不動産, 病院予約. It holds the
patterns known to be weak (a bare postal code after 「：」, hiragana town names, building names without
a building word, names with no honorific, katakana-only フリガナ, a reading after the honorific,
one-kanji surnames) alongside hard negatives that look like PII: 注文番号, 請求書番号, amounts, dates,
型番, and part numbers shaped like a postal code (「部品番号 123-4567」).
"""

# One-kanji surnames (林, 関 …) are about a fifth of the pool: common in real text, hard for a tagger.
SURNAMES = [
    ("林", "はやし"), ("関", "せき"), ("辻", "つじ"), ("堀", "ほり"), ("菅", "すが"), ("岡", "おか"),
    ("泉", "いずみ"), ("東", "あずま"), ("菅原", "すがわら"), ("野田", "のだ"), ("荒木", "あらき"),
    ("大久保", "おおくぼ"), ("北村", "きたむら"), ("坂口", "さかぐち"), ("片山", "かたやま"),
    ("川口", "かわぐち"), ("小松", "こまつ"), ("吉川", "よしかわ"), ("関口", "せきぐち"), ("水野", "みずの"),
    ("桑原", "くわはら"), ("島田", "しまだ"), ("永井", "ながい"), ("堀内", "ほりうち"), ("本田", "ほんだ"),
    ("久保田", "くぼた"), ("高田", "たかだ"), ("服部", "はっとり"), ("市川", "いちかわ"),
    ("古川", "ふるかわ"), ("宮田", "みやた"), ("菊池", "きくち"), ("望月", "もちづき"), ("大橋", "おおはし"),
    ("矢野", "やの"), ("秋山", "あきやま"), ("浅野", "あさの"), ("土屋", "つちや"), ("星野", "ほしの"),
    ("須藤", "すどう"), ("松下", "まつした"), ("熊谷", "くまがい"), ("黒田", "くろだ"), ("飯田", "いいだ"),
    ("内藤", "ないとう"), ("安田", "やすだ"), ("中川", "なかがわ"), ("田村", "たむら"), ("栗原", "くりはら"),
    ("小山", "こやま"), ("新田", "にった"), ("二階堂", "にかいどう"), ("早乙女", "さおとめ"),
]  # fmt: skip
GIVEN = [
    ("翼", "つばさ"), ("大和", "やまと"), ("陽斗", "はると"), ("湊", "みなと"), ("樹", "いつき"),
    ("健二", "けんじ"), ("博之", "ひろゆき"), ("雅子", "まさこ"), ("久美子", "くみこ"), ("沙織", "さおり"),
    ("舞", "まい"), ("葵", "あおい"), ("凛", "りん"), ("芽依", "めい"), ("莉子", "りこ"), ("拓海", "たくみ"),
    ("光", "ひかる"), ("和子", "かずこ"), ("洋平", "ようへい"), ("聡", "さとし"), ("恭子", "きょうこ"),
    ("俊介", "しゅんすけ"), ("美紀", "みき"), ("直美", "なおみ"), ("康弘", "やすひろ"), ("里奈", "りな"),
    ("ひかり", "ひかり"), ("みゆき", "みゆき"), ("純一", "じゅんいち"), ("早苗", "さなえ"),
]  # fmt: skip
# (prefecture, city, towns): real places, none of them in generate.PLACES; hiragana towns included.
PLACES = [
    ("北海道", "函館市", ["五稜郭町", "美原"]),
    ("北海道", "札幌市厚別区", ["もみじ台北", "厚別中央"]),
    ("青森県", "青森市", ["新町", "古川"]),
    ("岩手県", "盛岡市", ["大通", "中ノ橋通"]),
    ("宮城県", "仙台市宮城野区", ["榴岡", "新田東"]),
    ("福島県", "郡山市", ["駅前", "堂前町"]),
    ("栃木県", "宇都宮市", ["馬場通り", "駅前通り"]),
    ("茨城県", "水戸市", ["南町", "宮町"]),
    ("埼玉県", "所沢市", ["こぶし町", "日吉町"]),
    ("千葉県", "柏市", ["柏の葉", "末広町"]),
    ("千葉県", "千葉市美浜区", ["ひび野", "中瀬"]),
    ("東京都", "目黒区", ["自由が丘", "中目黒"]),
    ("東京都", "町田市", ["つくし野", "原町田"]),
    ("東京都", "江東区", ["豊洲", "亀戸"]),
    ("東京都", "台東区", ["浅草", "上野"]),
    ("東京都", "品川区", ["大崎", "東五反田"]),
    ("東京都", "杉並区", ["阿佐谷南", "荻窪"]),
    ("神奈川県", "横浜市都筑区", ["すみれが丘", "中川中央"]),
    ("神奈川県", "相模原市中央区", ["相模原", "淵野辺"]),
    ("神奈川県", "鎌倉市", ["小町", "雪ノ下"]),
    ("長野県", "北佐久郡軽井沢町", ["軽井沢", "長倉"]),
    ("新潟県", "長岡市", ["大手通", "城内町"]),
    ("富山県", "富山市", ["新桜町", "総曲輪"]),
    ("静岡県", "静岡市葵区", ["呉服町", "紺屋町"]),
    ("愛知県", "名古屋市中区", ["栄", "錦"]),
    ("愛知県", "岡崎市", ["康生通西", "明大寺町"]),
    ("三重県", "津市", ["羽所町", "丸之内"]),
    ("滋賀県", "大津市", ["浜大津", "におの浜"]),
    ("京都府", "京都市中京区", ["河原町通", "烏丸通"]),
    ("大阪府", "豊中市", ["新千里東町", "本町"]),
    ("大阪府", "大阪市淀川区", ["西中島", "十三本町"]),
    ("兵庫県", "西宮市", ["甲子園町", "北口町"]),
    ("和歌山県", "和歌山市", ["本町", "友田町"]),
    ("広島県", "福山市", ["三之丸町", "伏見町"]),
    ("山口県", "下関市", ["竹崎町", "豊前田町"]),
    ("香川県", "高松市", ["サンポート", "丸亀町"]),
    ("愛媛県", "松山市", ["大街道", "一番町"]),
    ("福岡県", "北九州市八幡西区", ["ひびきの", "黒崎"]),
    ("長崎県", "長崎市", ["万才町", "浜町"]),
    ("大分県", "大分市", ["府内町", "中央町"]),
    ("沖縄県", "宜野湾市", ["真栄原", "大山"]),
    ("沖縄県", "うるま市", ["みどり町", "石川"]),
]  # fmt: skip
# Condominium brands written with no ビル/マンション word after them (「パークアクシス豊洲 1203」).
CONDOS = [
    "パークアクシス",
    "ブリリア",
    "クレヴィア",
    "シティテラス",
    "ザ・パークハウス",
    "ルフォン",
    "アトラス",
]
BUILDINGS = ["アーバン", "ひまわり", "エクセル", "ロイヤル", "コスモ", "ユニゾン", "第二松岡"]

TEMPLATES: list[str] = [
    # 社内メール
    "{surname}さん\n\nお疲れさまです。{surname}です。\n{date}の定例は{time}開始に変更になりました。",
    "各位\n\n来週から{fullname}さんが経理課に異動されます。内線は{phone}です。",
    "件名：出張精算のお願い\n{surname}課長\n領収書（{amount}）を添付します。承認をお願いします。\n{fullname}",
    "{fullname}（{reading}）さんの入館証を発行しました。社員番号{order}、{date}から有効です。",
    "CC：{email}\n{surname}部長、{date}の稟議（注文番号{order}）について確認お願いします。",
    # 請求書
    "請求書番号：INV-{order}\n発行日：{date}\n{company} 御中\nご請求金額 {amount}\n"
    "振込先：{bankname} {branch} 普通預金 {bank}",
    "【請求書】\n{company}\n登録番号：T{corporate}\n〒{postal} {haddress}\nTEL：{phone}",
    "お支払期限：{date}\n小計 {amount} / 消費税 {amount}\n型番{product} ×3",
    "振込先　{bankname}　{branch}（当座）{bank}　口座名義　{company}",
    # 顧客対応ログ
    "{date} {time} {fullname}様より電話。注文番号{order}の返品について。折返し先{phone}。",
    "受付{time}／お客様名：{kananame}（{samename}様）／内容：配送先変更 → {haddress}",
    "問合せ：部品番号{partno}の在庫。{surname}様へ{date}回答済み。",
    "対応者：{surname}\nお客様：{fullname}様（{reading}）\n配送先：{postal} {haddress}",
    "{fullname}様（{email}）より、請求額{amount}の内訳について問い合わせ。",
    # 人事書類
    "氏名　{fullname}\nフリガナ　{kananame}\n生年月日　{date}\n現住所　〒{postal}　{haddress}\n"
    "個人番号　{my_number}",
    "扶養親族：{fullname}（続柄：長男）マイナンバー {my_number}",
    "緊急連絡先：{fullname}（{reading}）　電話：{phone}",
    "通勤経路の変更届\n新住所：{haddress}\n郵便番号：{postal}\n申請者：{fullname}",
    "在留カード番号 {residence} / 運転免許証 {licence} / 旅券 {passport}",
    "給与振込口座：{bankname} {branch} 普通 {bank}（名義：{kananame}）",
    # LINE-style chat
    "{surname}とさっき会ったよ〜",
    "{given_name}ちゃん明日ひま？{time}に駅前ね",
    "え、{surname}って{haddress}に住んでるの？近いじゃん",
    "{fullname}の電話番号わかる？ {phone} であってる？",
    "了解〜 {surname}さんに{amount}渡しとく",
    "今日{surname}先輩と飲み。{time}から",
    # 議事録
    "議事録（{date}）\n出席者：{surname}、{surname}、{surname}\n議題：{product}の発売時期",
    "司会：{fullname}\n決定事項：予算{amount}を承認。次回は{date}。",
    "{surname}より報告：受注件数は前月比108%、受注番号{order}まで処理済み。",
    # 不動産
    "物件所在地：{haddress}\n賃料：{amount}／管理費：{amount}",
    "【内見予約】{date} {time}\n物件：{haddress}\nお客様：{fullname}様　連絡先：{phone}",
    "貸主：{fullname}　住所：〒{postal} {haddress}",
    "重要事項説明書 {date}\n宅地建物取引士 {fullname}（登録番号 東京{order}）",
    # 病院予約
    "{fullname}様　診察券番号{order}　{date} {time}より内科でご予約を承りました。",
    "ご予約の確認です。患者様：{kananame}様　生年月日：{date}　電話：{phone}",
    "{surname}先生の外来は{date}休診です。代診は{surname}医師です。",
    "保険証記号{partno}、番号{order}を受付でご提示ください。",
    # hard negatives and near misses
    "配送料は{amount}、お届けは{date}の予定です。追跡番号：{tracking}",
    "部品番号 {partno} と {partno} を各10個発注（{product}）",
    "JAN {jan}／税込{amount}／入荷{date}",
]
