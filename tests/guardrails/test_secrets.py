"""SECRET: vendor keys, JWTs, PEM blocks, passwords in URLs and assignments; offsets exact."""

from __future__ import annotations

import base64
import json

import pytest

from sekisho.guardrails.detectors.secrets import SecretDetector
from sekisho.guardrails.text import Text

FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
DETECTOR = SecretDetector()


def spans(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(Text(text)) if f.score >= 0.5]


def _jwt(header: dict[str, str], payload: dict[str, str], signature: str = "c2lnbmF0dXJlX2J5dGVz") -> str:
    def part(obj: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part(header)}.{part(payload)}.{signature}"


JWT = _jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "1234567890", "name": "Taro"})
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----"
)
GCP_JSON = (
    '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQ'
    'EFAASCBKcwggSjAgEAAoIBAQC7\\n-----END PRIVATE KEY-----\\n", "client_email": "x@p.iam.example.com"}'
)
AZURE_KEY = "Zm9vYmFy" * 11  # 88 base64 characters
SAS = (
    "https://acct.blob.core.windows.net/c/report.pdf?sv=2022-11-02&ss=b&srt=co&sp=rl"
    "&se=2026-01-01T00:00:00Z&sig=q8Wm3%2BkL0pZx7yR2vT9uN4sA6dF1gH5jK8lB3cE0oIw%3D"
)
SEKISHO_KEY = "sk-sks-" + "Xq7Lm2Np9Rt4Vw1Yz8Bc3Df6Gh0Jk5Mn_Pq-Rs2Tu4Vw"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aws key AKIAIOSFODNN7EXAMPLE in config", ["AKIAIOSFODNN7EXAMPLE"]),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
        ),
        ("maps key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY ok", ["AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"]),
        (f"AccountName=acct;AccountKey={AZURE_KEY};EndpointSuffix=core.windows.net", [AZURE_KEY]),
        (SAS, ["q8Wm3%2BkL0pZx7yR2vT9uN4sA6dF1gH5jK8lB3cE0oIw%3D"]),
        ("token ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8 used", ["ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8"]),
        ("github_pat_11AB" + "cD3eF5gH7i" * 8 + "J9", ["github_pat_11AB" + "cD3eF5gH7i" * 8 + "J9"]),
        ("GitLab: glpat-Xy3Zw8Qr5Tv2Nm7Lk4Jh", ["glpat-Xy3Zw8Qr5Tv2Nm7Lk4Jh"]),
        ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", None),
        ("hook https://hooks.slack.com/services/T0AB12CDE/B0FG34HIJ/abcDEF123ghiJKL456mno", None),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dcXyZ2 charge", ["sk_live_4eC39HqLyjWDarjtT1zdp7dcXyZ2"]),
        (
            "OPENAI_API_KEY=sk-proj-Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3",
            ["sk-proj-Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3"],
        ),
        (
            "legacy sk-aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gH2jK4mN6p",
            ["sk-aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gH2jK4mN6p"],
        ),
        (
            "claude: sk-ant-api03-" + "Qw3Er5Ty7Ui9" * 7 + "-AA",
            ["sk-ant-api03-" + "Qw3Er5Ty7Ui9" * 7 + "-AA"],
        ),
        (f"api_key={SEKISHO_KEY}", [SEKISHO_KEY]),
        (f"Authorization: Bearer {JWT}", [JWT]),
        (f"before\n{PEM}\nafter", [PEM]),
        ("postgres://admin:S3cr3t!x@db.example.com:5432/app", ["S3cr3t!x"]),
        ("redis://:p4ssW0rd@cache:6379/0", ["p4ssW0rd"]),
        ("DB_PASSWORD=s3cr3tPW9", ["s3cr3tPW9"]),
        ('"password": "Tr0ub4dor&3"', ["Tr0ub4dor&3"]),
        ("パスワード：Abc12345 です", ["Abc12345"]),
        ("パスワードはhunter22です", ["hunter22"]),
        ("暗証番号は4096です", ["4096"]),
        ("client_secret: 'a8Fk29dLq0ZmX7pR3tYvW'", ["a8Fk29dLq0ZmX7pR3tYvW"]),
    ],
)
def test_secret_positive(text: str, expected: list[str] | None) -> None:
    found = spans(text)
    if expected is None:  # the whole token (Slack): it is the text minus its label
        assert len(found) == 1 and found[0] in text and len(found[0]) > 40
    else:
        assert found == expected


def test_gcp_service_account_private_key_is_the_whole_block() -> None:
    found = spans(GCP_JSON)
    assert len(found) == 1
    assert found[0].startswith("-----BEGIN PRIVATE KEY-----") and found[0].endswith(
        "-----END PRIVATE KEY-----"
    )


def test_pem_without_footer_still_found() -> None:
    text = PEM.split("-----END")[0]  # pasted without its footer: the key material still leaked
    assert spans(text) == [text.rstrip("\n")]


@pytest.mark.parametrize(
    "text",
    [
        "request id 550e8400-e29b-41d4-a716-446655440000",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b merged",
        "integrity sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ==",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAKIAIOSFODNN7EXAMPLEeyJhbGciOiJIUzI1NiJ9AAAA",
        "AKIAIOSFODNN7EXAMPLE1",  # one character too long: not an access key id
        "ghp_tooShort123",
        "sk-sks-AbCdEfGh",  # the displayed prefix of a Sekisho key, not the key
        "api_key=sk-sks-…",
        "sk_live_short",
        "eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxIn0.c2ln",  # base64url JSON without "alg"
        "postgres://user:password@localhost/db",  # a documented placeholder
        "postgres://localhost:5432/app",
        "password: str",
        "password=password",
        "password_min_length=8",
        "max_tokens=1024",
        "secretary: Tanaka",
        "パスワードを変更してください",
        "注文番号 4096-1234-5678",
        "token_count: 123456",
        "api_key = os.environ['API_KEY']",
    ],
)
def test_secret_negative(text: str) -> None:
    assert spans(text) == []


def test_full_width_offsets_map_to_original() -> None:
    key = "AKIAIOSFODNN7EXAMPLE".translate(FULL)
    text = f"キーは {key} です"
    assert spans(text) == [key]


def test_offsets_exact_after_japanese_prefix() -> None:
    text = "設定ファイルに ghp_" + "Z9" * 18 + " が残っていました"
    (finding,) = DETECTOR.detect(Text(text))
    assert text[finding.start : finding.end] == "ghp_" + "Z9" * 18
    assert finding.type == "SECRET" and finding.score >= 0.9


def test_jwt_with_alg_none_is_weaker_but_found() -> None:
    token = _jwt({"alg": "none"}, {"sub": "1"}, signature="")
    (finding,) = DETECTOR.detect(Text(f"token {token} end"))
    assert 0.5 <= finding.score < 0.9


def test_large_input_is_linear() -> None:
    text = ("password password_ pass: a_b_c_d sk- eyJ AKIA ://x:y " * 20000)[:1_000_000]
    assert isinstance(DETECTOR.detect(Text(text)), list)
