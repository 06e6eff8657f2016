"""The SCIM resources Sekisho serves, described with scim2-models.

Users are the core User schema with the Enterprise User extension (its ``department`` and
``costCenter`` are handy for usage reports by group). Groups are the core Group schema with the
member sub-attributes RFC 7643 §8.7.1 lists (``value``, ``$ref``, ``type``): a member's
``display`` is not stored, so it is not announced either, and a client that sends one sees it
ignored rather than echoed back wrong.

The same models validate requests, apply PATCH operations, evaluate filters and are published on
/Schemas and /ResourceTypes, so what Sekisho announces is what it enforces.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

import scim2_models
from pydantic import AfterValidator, Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Meta,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    Schema,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
)

from sekisho.scim.settings import ScimSettings


def _address_syntax(value: str | None) -> str | None:
    """Accept any ``local@domain`` address.

    RFC 7643 §4.1.2 only says the value SHOULD follow RFC 5321; the stricter check scim2-models
    makes by default refuses special-use domains (``corp.local``, ``example.test``) that company
    directories do use, and provisioning must not stop on them.
    """
    if value is None:
        return None
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in value):
        raise ValueError("not an e-mail address")
    return value


class Email(scim2_models.Email):
    """An e-mail address of a user."""

    value: Annotated[str | None, AfterValidator(_address_syntax)] = None
    """The address (``local@domain``)."""


# The docstrings of the two resources are the schema descriptions /Schemas publishes, in RFC 7643
# §8.7.1's own words. Sekisho's User differs from scim2-models' in checking e-mail syntax only; its
# Group in listing users only as members.
class User(scim2_models.User[Any]):
    """User Account"""

    emails: list[Email] | None = None  # type: ignore[assignment]  # a narrower Email, same attribute
    """The user's e-mail addresses; the primary one (else the first) is their Sekisho e-mail."""


class GroupMember(ComplexAttribute):
    """A member of a group: always a user of the same organisation."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    """The member's id (a Sekisho user id)."""

    ref: Annotated[
        Reference[Union[User, Group]] | None,  # noqa: UP007 - forward references
        Mutability.immutable,
    ] = Field(None, serialization_alias="$ref", validation_alias="$ref")
    """The member's URI (``…/scim/v2/Users/{id}``)."""

    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])
    """The member's resource type."""


class Group(Resource[Any]):
    """Group"""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true] = None
    """The group's name (unique within the organisation)."""

    members: list[GroupMember] | None = None
    """The users in the group."""


# The member's reference names both resource types, so its model is complete only once Group exists.
GroupMember.model_rebuild()


# Subscripted through the call the syntax stands for: mypy reads the index of a generic as a type.
ScimUser: type[Resource[Any]] = User.__class_getitem__(EnterpriseUser)
"""Users, with the Enterprise User extension."""

USER_SCHEMA = str(User.__schema__)
ENTERPRISE_SCHEMA = str(EnterpriseUser.__schema__)
GROUP_SCHEMA = str(Group.__schema__)

POLICY = ScimPolicy(
    # Identity providers send attributes of their own (Okta's, Entra's): dropping them keeps
    # provisioning working where refusing them would stop it.
    unknown=ScimPolicy.Unknown.ignore,
    # Entra ID removes a member with {"op": "Remove", "path": "members", "value": [{"value": id}]}.
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    # Entra ID sets emails[type eq "work"].value on a user who has no work e-mail yet.
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
"""How far Sekisho bends for identity providers' known departures from RFC 7644."""


def service_provider_config(settings: ScimSettings) -> ServiceProviderConfig:
    """What Sekisho supports, as /ServiceProviderConfig announces it."""
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=settings.max_page_size),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="A SCIM token created by an organisation admin "
                "(POST /admin/v1/scim/tokens), sent as 'Authorization: Bearer <token>'.",
                spec_uri="https://www.rfc-editor.org/rfc/rfc6750",
                primary=True,
            )
        ],
        pagination=Pagination(
            index=True,
            cursor=False,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
        ),
    )


def build_provider(settings: ScimSettings) -> ScimProvider:
    """The service description: models, resource types, configuration and policy."""
    return ScimProvider(
        models=[User, EnterpriseUser, Group],
        resource_types=[ResourceType.from_resource(ScimUser), ResourceType.from_resource(Group)],
        config=service_provider_config(settings),
        policy=POLICY,
    )


def with_meta(obj: Schema | ResourceType, base_url: str) -> dict[str, Any]:
    """A discovery object as served, with its ``meta`` (resource type and location)."""
    kind = "Schema" if isinstance(obj, Schema) else "ResourceType"
    copy = obj.model_copy(update={"meta": Meta(resource_type=kind, location=f"{base_url}/{kind}s/{obj.id}")})
    return copy.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
