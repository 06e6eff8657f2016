"""Request and response bodies of the network admin routes (they make their OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

OrgId = Annotated[str | None, Field(description="Only for the master key: the organisation.")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetworkRuleIn(_In):
    cidr: Annotated[
        str,
        Field(
            min_length=1,
            max_length=64,
            description="An IPv4 or IPv6 network (203.0.113.0/24, 2001:db8::/32) or one address.",
        ),
    ]
    project_id: str | None = Field(
        None, description="Limit model calls of this project; omit for an org-wide rule."
    )
    note: Annotated[str | None, Field(max_length=200)] = None
    force: bool = Field(
        False,
        description="Create an org-wide rule even though it excludes the address you are calling from.",
    )
    org_id: OrgId = None


class NetworkRuleOut(BaseModel):
    id: str
    org_id: str
    project_id: str | None
    cidr: str
    note: str | None
    created_at: datetime
    created_by: str


class DomainIn(_In):
    domain: Annotated[str, Field(min_length=1, max_length=253, description="e.g. example.com")]
    join_policy: Literal["auto", "invite_only"] = Field(
        "invite_only",
        description="auto: new sign-ins (SSO, sign-up) with this e-mail domain join the organisation; "
        "invite_only: they need an invitation.",
    )
    default_role: str = Field("member", description="Organisation role given on joining (not owner).")
    org_id: OrgId = None


class TxtRecord(BaseModel):
    name: str
    type: Literal["TXT"] = "TXT"
    value: str


class DomainOut(BaseModel):
    id: str
    org_id: str
    domain: str
    verified: bool
    verified_at: datetime | None
    join_policy: str
    default_role: str
    created_at: datetime
    created_by: str
    txt_record: TxtRecord = Field(description="The record to publish before verifying.")
    record: str = Field(description="The same record in zone-file form.")


class ClientCertificateIn(_In):
    project_id: str = Field(description="Project the certificate's calls are made for.")
    user_id: str | None = Field(
        None, description="An existing service account; omit to create one for this certificate."
    )
    service_account_name: Annotated[str | None, Field(max_length=200)] = Field(
        None, description="Name of the service account created when user_id is omitted."
    )
    fingerprint_sha256: str | None = Field(
        None, description="SHA-256 of the certificate (hex, colons allowed)."
    )
    subject: Annotated[str | None, Field(max_length=500)] = Field(
        None, description="RFC 4514 subject (CN=svc,O=Example): any certificate the CA issues with it."
    )
    pem: Annotated[str | None, Field(max_length=32_768)] = Field(
        None, description="The certificate itself (PEM); its fingerprint is mapped."
    )
    models: list[str] | None = Field(None, description="Models it may use; omit for all.")
    org_id: OrgId = None


class ClientCertificateOut(BaseModel):
    id: str
    org_id: str
    project_id: str
    user_id: str
    fingerprint_sha256: str | None
    subject: str | None
    models: list[str] | None
    active: bool
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
