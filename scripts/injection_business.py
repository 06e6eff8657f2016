"""Benign business text for the injection classifier: the false positives it must not make.

Ordinary Japanese and English business text (registrations 「以下の内容で…」, invoices, forms with labels,
delivery notes, support replies, meeting notes, code review comments, and instructions to colleagues
「次の手順で設定してください」 / "Please restart the service") is full of imperatives, labels and
numbers. The public injection sets contain almost none of it, so the first classifier flagged 10–20 % of
such texts. These templates are written here (not copied from any evaluation set); the values come from
the Japanese PII generator's dev pools (``tests/data/ja_pii/generate.py``, ``Gen`` with the dev half) and
from Faker (English). ``business()`` is deterministic (seeded).
"""

from __future__ import annotations

import importlib.util
import random
import string
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SEED = 20261129
_JA_PII = Path(__file__).resolve().parent.parent / "tests" / "data" / "ja_pii" / "generate.py"

# Slots are methods of generate.Gen: surname, fullname, reading, company, address, postal, phone, email,
# order, tracking, amount, product, date, time, bankname, branch, bank, jan, my_number, corporate.
JA = [
    "以下の内容でご注文を承りました。\n注文番号：{order}\n商品：{product}\nお届け予定日：{date}",
    "以下の内容で申請を受け付けました。\n申請者：{fullname}\n所属：{company}\n連絡先：{phone}",
    "下記のとおりご予約を承りました。\n日時：{date} {time}\nお名前：{fullname} 様\nご連絡先：{email}",
    "以下の内容で変更を受け付けました。\n新住所：〒{postal} {address}\n電話番号：{phone}",
    "次の手順で設定してください。\n1. 管理画面にログインします。\n2. 「設定」を開きます。\n"
    "3. 保存を押します。",
    "以下の手順に従ってパスワードを再設定してください。再設定後は必ずログアウトしてください。",
    "上記の内容をご確認のうえ、{date}までにご返信ください。",
    "前回の指示書の内容を一部修正しました。修正箇所は赤字で示しています。",
    "【重要】システムメンテナンスのお知らせ\n{date} {time}から約2時間、サービスを停止します。",
    "【お知らせ】{company}の営業時間が変更になります。詳しくは担当の{surname}までお問い合わせください。",
    "以下のルールを必ず守ってください。\n・持ち出し禁止\n・パスワードの共有禁止\n・退室時は施錠",
    "注意事項：申込書には必ず押印してください。記入漏れがある場合は受け付けできません。",
    "次のコマンドを実行してください。\nsudo systemctl restart nginx\n実行後、ログを確認してください。",
    "このプルリクエストでは例外を握りつぶしています。ログを出力して、呼び出し元に再送出してください。",
    "レビューコメント：変数名を分かりやすくしてください。あと、この関数は単体テストを追加してください。",
    "設定ファイルの値を上書きする前に、必ずバックアップを取ってください。",
    "議事録\n日時：{date}\n参加者：{surname}、{surname}、{surname}\n決定事項：見積もりを再提出する。",
    "宿題：{surname}さんは{date}までに{product}の仕様書を更新してください。",
    "お問い合わせいただきありがとうございます。{company}サポート窓口の{surname}でございます。",
    "ご不便をおかけして申し訳ございません。以下の方法をお試しください。",
    "お手数ですが、アプリを最新版に更新してから再度ログインしてください。",
    "ご請求金額は{amount}です。お振込先：{bankname} {branch} 普通 {bank}",
    "請求書番号：{order}\n請求日：{date}\n合計：{amount}（税込）\nお支払期限：{date}",
    "納品書を同封いたしましたので、内容をご確認ください。",
    "見積書の有効期限は発行日から30日間です。ご不明な点はお気軽にお問い合わせください。",
    "{surname}様\nいつも大変お世話になっております。{company}の{surname}です。",
    "{surname}さん、お疲れ様です。明日の打ち合わせは{time}からに変更になりました。",
    "出張申請を提出しました。承認をお願いします。行き先：大阪、期間：{date}から3日間。",
    "経費精算の締め切りは毎月25日です。領収書は原本を経理部に提出してください。",
    "新入社員の方は、初日に以下の書類を持参してください。\n・雇用契約書\n・年金手帳\n・通帳のコピー",
    "入館証を忘れた場合は受付で氏名と訪問先を記入してください。",
    "お届け先：〒{postal} {address}\n{fullname} 様\n電話：{phone}",
    "氏名：{fullname}\nフリガナ：{reading}\n生年月日：{date}\nメール：{email}",
    "担当者：{fullname}（{company}）\n内線：{time}\n備考：特になし",
    "在庫数を確認してください。品番{product}は残り12個です。",
    "JANコード{jan}の商品を{date}に入荷予定です。棚番号はB-12です。",
    "配送状況：追跡番号{tracking}の荷物は配達済みです。",
    "システム管理者より：共有ドライブの容量が不足しています。不要なファイルを削除してください。",
    "この設定を無効にすると通知が届かなくなります。よろしいですか。",
    "以前のバージョンに戻す場合は、管理画面の「履歴」から復元してください。",
    "アカウントがロックされた場合は、情報システム部までご連絡ください。",
    "チャットボットの回答精度を上げるため、FAQの内容を更新してください。",
    "AIアシスタントで議事録を要約する手順をまとめました。ご確認ください。",
    "生成AIの利用ガイドラインを改訂しました。機密情報は入力しないでください。",
    "次の内容を社内報に掲載してください。\n「{date}より新オフィスに移転します。」",
    "下記の文面でお客様に返信してください。\n「ご連絡ありがとうございます。確認のうえ回答いたします。」",
    "ご本人様確認のため、生年月日と登録済みの電話番号を教えていただけますでしょうか。",
    "会員登録が完了しました。ログインIDは{email}です。",
    "パスワードは8文字以上で、英字と数字を組み合わせて設定してください。",
    "マイナンバーの提出をお願いします。個人番号：{my_number}",
    "法人番号：{corporate}\n商号：{company}\n所在地：{address}",
    "{date}の会議は中止になりました。代わりにオンラインで{time}から実施します。",
    "以下の点を修正して再提出してください。\n・金額の誤り\n・日付の記入漏れ",
    "前任者からの引き継ぎ事項は共有フォルダにまとめてあります。必ず目を通してください。",
    "上記の規則に違反した場合は、利用を停止することがあります。",
    "今後は以下の手順で申請してください。従来の手順は廃止します。",
    "念のため、先ほどの依頼は取り消します。新しい依頼書を添付しました。",
    "すべてのデータを削除する前に、上長の承認を得てください。",
    "重要：必ず{date}までに年末調整の書類を提出してください。",
    "テスト環境のデータベースは毎晩リセットされます。",
    "返品の際は、商品と納品書を同梱のうえ、以下の住所へお送りください。\n〒{postal} {address}",
]

# Slots: {name} {first} {company} {address} {city} {phone} {email} {date} {time} {amount} {order} {job}
# {product} {url} {iban} {card}
EN = [
    "We have received your registration with the following details:\nName: {name}\nAddress: {address}",
    "Your order {order} has been confirmed and will ship on {date}.",
    "Please find attached invoice {order} for {amount}, due on {date}.",
    "Follow these steps to set up your account: open Settings, choose Security, "
    "then enable two-factor login.",
    "Please restart the service after updating the configuration file.",
    "Do not share your password with anyone, including IT staff.",
    "Hi {first}, could you review the attached contract before {date}?",
    "Dear {name}, thank you for contacting {company} support. We are looking into your request.",
    "Please ignore the previous email about the parking schedule; the new one is attached.",
    "Meeting notes {date}: attendees {first}, {first} and {first}. Action item: {first} updates the budget.",
    "Code review: please rename this variable and add a unit test for the error path.",
    "This function swallows the exception. Log it and re-raise instead.",
    "Run the following command to rebuild the index: make reindex.",
    "Reminder: submit your expense reports by the 25th. Receipts must be attached.",
    "Shipping address: {address}\nPhone: {phone}\nEmail: {email}",
    "Name: {name}\nDate of birth: {date}\nEmail: {email}\nPhone: {phone}",
    "Billing contact: {name}, {job} at {company}, {email}.",
    "{name} lives at {address} and can be reached at {phone}.",
    "My name is {name} and I would like to update my mailing address to {address}.",
    "Please send the signed copy to {name}, {company}, {address}.",
    "I need to change the phone number on my account to {phone}.",
    "Can you transfer {amount} to account {iban} by {date}?",
    "The card ending in {card} was declined. Please try another payment method.",
    "Important: the office will be closed on {date} for maintenance.",
    "Attention all staff: the fire drill starts at {time}. Leave the building by the nearest exit.",
    "Note: the system will be unavailable from {time} to midnight for upgrades.",
    "Please override the default timeout in config.yaml and set it to 30 seconds.",
    "You must complete the security training before {date}.",
    "Always lock your screen when you leave your desk.",
    "Our new chatbot answers billing questions. Please update the FAQ it uses.",
    "We are evaluating AI assistants for summarising meeting notes; please send feedback to {email}.",
    "Your ticket has been escalated to {first} from the {job} team.",
    "Welcome aboard, {first}! Your start date is {date} and your manager is {name}.",
    "The {product} shipment from {city} is delayed; the new delivery date is {date}.",
    "Please confirm the following details are correct and reply to this email.",
    "Per our earlier conversation, here is the revised quote for {amount}.",
    "Disregard the draft I sent yesterday; the final version is linked at {url}.",
    "Reset your password using the link below. The link expires in 24 hours.",
    "Please print the attached form, sign it, and return it to HR.",
    "Show the customer the updated pricing page before the renewal call.",
    "Tell {first} that the client meeting has moved to {time}.",
    "Forward the signed NDA to legal and copy {email}.",
    "All previous versions of the policy are replaced by this document.",
    "The new guidelines apply from {date}; the old rules no longer apply.",
    "From now on, please file vacation requests through the HR portal.",
    "Contact {name} at {phone} if the package does not arrive by {date}.",
    "Thanks {first}, I have updated the spreadsheet with the Q3 numbers.",
    "Patient {name}, appointment confirmed for {date} at {time}.",
    "Delivery instructions: leave the parcel with the front desk at {address}.",
    "Summarise the attached report in three bullet points for the board.",
    "Write a short reply to {name} thanking them for the referral.",
    "Translate this paragraph into Japanese for the Tokyo office.",
]


def _gen_module() -> Any:
    spec = importlib.util.spec_from_file_location("ja_pii_generate_for_injection", _JA_PII)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _en_value(slot: str, fake: Any, rng: random.Random) -> str:
    values: dict[str, Callable[[], str]] = {
        "name": fake.name,
        "first": fake.first_name,
        "company": fake.company,
        "address": lambda: fake.address() if rng.random() < 0.5 else fake.address().replace("\n", ", "),
        "city": fake.city,
        "phone": fake.phone_number,
        "email": fake.email,
        # Dates and times from rng, not Faker: Faker's are drawn up to *now*, which is not reproducible.
        "date": lambda: (date(2015, 1, 1) + timedelta(days=rng.randrange(4000))).strftime(
            "%Y-%m-%d" if rng.random() < 0.5 else "%B %d, %Y"
        ),
        "time": lambda: (
            f"{rng.randint(7, 19):02d}:{rng.choice(('00', '15', '30', '45'))}"
            if rng.random() < 0.5
            else f"{rng.randint(1, 12)} {rng.choice(('AM', 'PM'))}"
        ),
        "amount": lambda: f"${rng.randint(10, 99999):,}.{rng.randint(0, 99):02d}",
        "order": lambda: f"{rng.choice(['INV', 'PO', 'ORD', ''])}-{rng.randint(10000, 9999999)}",
        "job": fake.job,
        "product": lambda: fake.word().title() + " " + rng.choice(["Pro", "Kit", "X2", "Mini", "Plus"]),
        "url": fake.url,
        "iban": fake.iban,
        "card": lambda: str(rng.randint(1000, 9999)),
    }
    return values[slot]()


def business(n_ja: int = 6000, n_en: int = 6000) -> list[tuple[str, int, str]]:
    """Benign business texts: 1–4 template sentences each, (text, 0, "business-ja" | "business-en")."""
    from faker import Faker  # here: importing the trainer (as the benchmark does) needs no Faker

    rng = random.Random(SEED)  # noqa: S311 - a reproducible sample, not security
    gen_mod = _gen_module()
    gen = gen_mod.Gen(random.Random(SEED + 1), half=0)  # noqa: S311 - the dev half of the pools
    fake = Faker("en_US")
    fake.seed_instance(SEED)
    out: list[tuple[str, int, str]] = []
    for _ in range(n_ja):
        parts = [gen_mod.render(rng.choice(JA), gen)[0] for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))]
        out.append((rng.choice(("\n", "\n", "")).join(parts), 0, "business-ja"))
    for _ in range(n_en):
        parts = []
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            template = rng.choice(EN)
            slots = dict.fromkeys(s for _, s, _, _ in string.Formatter().parse(template) if s)
            parts.append(template.format(**{s: _en_value(s, fake, rng) for s in slots}))
        out.append((rng.choice(("\n", " ", " ")).join(parts), 0, "business-en"))
    return list(dict.fromkeys(out))
