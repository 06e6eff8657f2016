"""What the requester is told, in English and Japanese: why, what changes, and how to appeal."""

from __future__ import annotations

APPEAL_HINT_EN = "See GET /v1/enforcement for the action id; appeal with POST /v1/appeals {action_id, text}."
APPEAL_HINT_JA = (
    "措置の ID は GET /v1/enforcement で確認でき、"
    "POST /v1/appeals {action_id, text} で異議を申し立てられます。"
)


def action_messages(
    action: str, count: int, days: int, category: str | None, models: list[str] | None
) -> tuple[str, str]:
    """(English, Japanese) for an action the ladder applied after ``count`` violations.

    Without the appeal hint: the English text is also the action's stored reason.
    """
    what = category or "usage policy"
    why_en = f"{count} usage-policy violation(s) in {days} days (latest: {what})."
    why_ja = f"過去{days}日間に利用ポリシー違反が{count}件ありました（直近: {what}）。"
    allowed = ", ".join(models or []) or "none"
    if action == "warn":
        en = f"Warning: {why_en} Further violations lead to stricter measures."
        ja = f"警告: {why_ja}違反が続くと、より厳しい措置がとられます。"
    elif action == "require_review":
        en = f"{why_en} From now on every request with this key is held for review by a person."
        ja = f"{why_ja}今後、このキーによるすべてのリクエストは担当者の審査を経てから処理されます。"
    elif action == "restrict_models":
        en = f"{why_en} This key may now use only these models: {allowed}."
        ja = f"{why_ja}このキーで使えるモデルは次のものに制限されました: {allowed}。"
    else:
        en = f"{why_en} This API key is suspended."
        ja = f"{why_ja}この API キーは停止されました。"
    return en, ja
