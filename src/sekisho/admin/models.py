"""Request and response bodies of the admin API (they make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrgIn(_In):
    slug: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]


class OrgOut(BaseModel):
    id: str
    slug: str
    name: str
    created_at: datetime


class ProjectIn(_In):
    slug: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    org_id: str | None = Field(None, description="Only for the master key: the organisation.")


class ProjectOut(BaseModel):
    id: str
    org_id: str
    slug: str
    name: str
    created_at: datetime


class UserIn(_In):
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: str = "member"
    service_account: bool = False
    org_id: str | None = Field(None, description="Only for the master key: the organisation.")


class UserOut(BaseModel):
    id: str
    org_id: str
    email: str
    name: str
    role: str
    is_service_account: bool
    active: bool
    created_at: datetime


class KeyIn(_In):
    project_id: str = Field(description="Project id or slug.")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    user_id: str | None = Field(None, description="Owner; default: the organisation's service account.")
    models: list[str] | None = Field(None, description="Allowed models; omitted means all.")
    expires_at: datetime | None = None
    org_id: str | None = Field(None, description="Only for the master key: the organisation.")


class KeyOut(BaseModel):
    id: str
    org_id: str
    project_id: str
    user_id: str
    name: str
    prefix: str
    models: list[str] | None
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    suspended_at: datetime | None = Field(
        None, description="Set while an enforcement action suspends the key."
    )
    suspended_reason: str | None = None
    review_all: bool = Field(False, description="Every request of the key is held for human review.")


class CreatedKeyOut(KeyOut):
    key: str = Field(description="The secret. Shown once; Sekisho keeps only its hash.")


class UsageRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float


class UsageOut(BaseModel):
    group_by: list[str]
    data: list[UsageRow]


class VerifyOut(BaseModel):
    ok: bool
    records: int
    first_bad_seq: int | None
    reason: str | None
    head_hash: str


class GroupIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    org_id: str | None = Field(None, description="Only for the master key: the organisation.")


class GroupMemberIn(_In):
    user_id: str


class GroupOut(BaseModel):
    id: str
    org_id: str
    name: str
    created_at: datetime
    member_ids: list[str]
    org_role: str | None = None
    project_roles: dict[str, str] = {}
    external_id: str | None = None


class UserPatch(_In):
    """Fields an admin may change; omitted fields stay as they are."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    role: str | None = None
    active: bool | None = Field(None, description="false deactivates: sessions end and API keys are revoked.")


class ProjectMemberIn(_In):
    user_id: str
    role: str = Field("member", description="admin, member or viewer.")


class ProjectMemberOut(BaseModel):
    project_id: str
    user_id: str
    role: str
    created_at: datetime


class GroupGrantsIn(_In):
    """What membership of the group grants (replaces the previous grants)."""

    org_role: str | None = Field(None, description="An organisation role, or null for none.")
    project_roles: dict[str, str] = Field(
        default_factory=dict, description="{project_id: admin|member|viewer}"
    )
