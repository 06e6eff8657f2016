"""Sentence templates for ``generate.py``: ``{slot}`` names a method of ``generate.Gen``.

The dev and test lists share no template (``generate.py`` asserts it). Labelled slots: my_number,
corporate, licence, passport, residence, postal, address, surname, fullname, reading, phone, email,
bank, yucho, yucho_kigo, iban. Unlabelled (hard negatives and filler): order, tracking, jan, amount,
product, date, time, company, bankname, branch.
"""

TEMPLATES: dict[str, list[str]] = {
    "dev": [
        # business e-mail (keigo)
        "{company}\n{surname}様\n\nいつもお世話になっております。{company}の{surname}です。\n"
        "ご注文（注文番号：{order}）の商品を{date}に発送いたしました。",
        "{surname}部長\nお疲れ様です。{fullname}です。{date}の会議資料を共有いたします。",
        "ご担当者様\n請求書を送付いたします。ご請求金額は{amount}（税込）です。\n"
        "お振込先：{bankname} {branch} 普通 {bank}\n口座名義：カ）サンプル",
        "以下の内容で登録を受け付けました。\n氏名：{fullname}（{reading}）\n住所：〒{postal} {address}\n"
        "電話番号：{phone}\nメール：{email}",
        "弊社の法人番号は{corporate}です。ご確認のほどよろしくお願いいたします。",
        "適格請求書発行事業者登録番号：T{corporate}\n{company}",
        "本人確認のため、マイナンバー（個人番号）{my_number}を記載した書類をご提出ください。",
        "個人番号：{my_number}\n氏名：{fullname}",
        "運転免許証番号 {licence} の{surname}様、更新手続きのご案内です。",
        "パスポート番号：{passport}（有効期限 {date}）",
        "在留カード番号 {residence} を確認しました。{surname}さんの在留期限は{date}です。",
        # forms
        "【お届け先】〒{postal}\n{address}\n{fullname} 様\nTEL {phone}",
        "郵便番号 {postal}\n住所 {address}",
        "送付先：{address}　{company}　総務部 {surname}様",
        "ゆうちょ銀行 記号{yucho_kigo} 名義 {fullname}",
        "振込先はゆうちょ銀行 {yucho} です。",
        "Please transfer to IBAN {iban} by {date}.",
        # chat (casual)
        "{surname}さん、明日{time}に渋谷駅で待ち合わせね！",
        "了解！{surname}くんにも伝えとく。電話は{phone}だよ",
        "昨日{surname}先生から連絡があって、{date}に面談になりました",
        "メアド変わりました→ {email}",
        # support log
        "[{date} {time}] お客様より入電。注文番号{order}の配送状況確認。追跡番号{tracking}にて案内済み。",
        "[{date}] 顧客：{fullname}様　連絡先：{phone}　内容：商品（品番{product}）の返品希望",
        "JANコード {jan} の在庫を確認してください。単価は{amount}です。",
        "伝票番号{tracking}、お問い合わせ番号{order}でお調べします。",
        "{date}に{amount}をお振込みいただきありがとうございます。",
        "東京駅から大阪出張、京都大学の{surname}教授と打ち合わせ。",
        "製品コード{product}、{date}入荷予定、数量120個。",
        # added for the weaknesses known after the first round (bare postal codes, plain building
        # names, hiragana towns, names with no honorific, katakana フリガナ, one-kanji surnames)
        "送り先：{postal}　{haddress}　{fullname}様",
        "{company}\n{postal} {haddress}\n代表 {fullname}",
        "引っ越し先は{haddress}です。来週から住みます。",
        "現住所　{haddress}（{date}転居）",
        "明日{fullname}に会ってくる",
        "{surname}と{surname}が出張中です。",
        "{surname}がそう言ってたよ",
        "フリガナ：{kananame}\n氏名：{samename}",
        "カナ氏名　{kananame}　生年月日　{date}",
        "{fullname}様（{reading}）より申込書を受領しました。",
        "{fullname}さん（{reading}）が来社されました。",
        "{surname1}さん、資料ありがとうございます！",
        "担当の{surname1}です。{date}に伺います。",
        "{surname1}部長と{surname1}課長が同席します。",
        "参加者：{fullname}、{fullname}、{surname}\n場所：第3会議室",
        "管理番号{partno}の棚卸し、{date}までに完了予定。",
        "品番{partno}は在庫切れ、次回入荷{date}。",
        "お客様各位\n{date}はお疲れさまでした。皆様のご協力に感謝いたします。",
    ],
    "test": [
        # business e-mail (keigo)
        "{surname}様\n\n平素より大変お世話になっております。{company}営業部の{fullname}でございます。\n"
        "先日はお忙しいところありがとうございました。",
        "{company}\n{surname}課長\n\n{date}のお打ち合わせの件でご連絡いたしました。{surname}と申します。",
        "お手数ですが、下記口座へお振込みをお願いいたします。\n{bankname} {branch}\n普通預金 {bank}\n"
        "ご請求額：{amount}",
        "返金先の口座をお知らせします。{bankname}{branch} 当座 {bank} です。",
        "お客様の口座番号：{bank}（{bankname}）へ{date}に返金いたしました。",
        "取引先の法人番号 {corporate} を台帳に登録してください。",
        "登録番号 T{corporate} の請求書を受領しました。合計{amount}。",
        "マイナンバー {my_number} の提出をお願いします。期限は{date}です。",
        "ご提出いただいた個人番号（{my_number}）に誤りがありましたので、再度ご確認ください。",
        "運転免許証（番号：{licence}）の写しを添付いたします。",
        "旅券番号 {passport}、氏名 {fullname}、発行日{date}",
        "在留カード：{residence}\nお名前：{fullname}（{reading}）",
        "Passport No. {passport} / Residence card {residence}",
        # forms
        "■ご契約者情報\n契約者名：{fullname}\nフリガナ：{reading}\nご住所：〒{postal}　{address}\n"
        "携帯電話：{phone}\nE-mail：{email}",
        "〒{postal} {address}\n{company} 御中",
        "申込者 {fullname}　住所 {address}　電話 {phone}",
        "現住所は{address}です。郵便番号は{postal}です。",
        "配送先：{postal} {address}（{surname}様方）",
        "ゆうちょ銀行の記号{yucho_kigo}へ送金してください。",
        "口座: ゆうちょ {yucho}（名義 {fullname}）",
        "Our bank details: IBAN {iban}, BIC DEUTDEFF.",
        "振込先IBAN：{iban}",
        # chat (casual)
        "{surname}ちゃん、今日の{time}からの飲み会来れる？",
        "おつかれ！{fullname}さんの連絡先これね {phone}",
        "{surname}君って{address}に引っ越したらしいよ",
        "{surname}さんのメール {email} に送っといて〜",
        "{surname}氏からの返信まだかな",
        # support log
        "{date} {time} 入電 {fullname}様（{reading}）より。登録住所 {address} の変更依頼。",
        "対応履歴：{surname}様へ折り返し（{phone}）。注文{order}はキャンセル済み。",
        "問合せ番号{order}：お届け予定日{date}、追跡番号{tracking}。",
        "商品コード{product}（JAN {jan}）を{amount}で販売中です。",
        "{date}の売上は{amount}、前年比112%でした。",
        "会員ID {order} のお客様から、品番{product}の在庫確認がありました。",
        "受付番号{tracking}の件、担当：{surname}が対応いたします。",
        "お支払い金額：{amount}（{date}引き落とし）",
        "横浜市の天気は晴れ、大阪府の予報は雨です。",
    ],
}
