"""List queries: filter, sort, page (RFC 7644 §3.4.2).

scim2-models parses the filter and evaluates it on each resource, so every operator and attribute
of the schema works (``eq ne co sw ew gt ge lt le pr``, ``and or not``, value paths such as
``emails[type eq "work"]``, ``meta.lastModified gt …``). Before that, the equality tests identity
providers send on every sync (``userName eq``, ``externalId eq``, ``displayName eq``, ``id eq``)
are turned into SQL, so such a lookup reads one row instead of the whole organisation; the
in-memory evaluation still decides, so narrowing only has to admit a superset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scim2_models import ListResponse, Resource, SearchRequest
from scim2_models.path import AttrPath, CompareOperator, Comparison, FilterNode, LogicalExpr, LogicalOperator
from sqlalchemy import ColumnElement, and_, func, or_

from sekisho.scim.schema import GROUP_SCHEMA, POLICY, USER_SCHEMA
from sekisho.scim.settings import ScimSettings
from sekisho.store.tables import groups, users

_QUERY_PARAMS = ("filter", "sortBy", "sortOrder", "startIndex", "count", "attributes", "excludedAttributes")

Narrower = Callable[[str], ColumnElement[bool]]


def search_request(model: Any, params: Mapping[str, Any], *, scim_ctx: Any = None) -> SearchRequest[Any]:
    """A SearchRequest for ``model`` from query parameters or a POST /.search body.

    Raises pydantic's ValidationError (an invalid filter becomes ``invalidFilter``).
    """
    known = {k: v for k, v in params.items() if k in _QUERY_PARAMS or k == "schemas"}
    request: SearchRequest[Any] = SearchRequest[model].model_validate(
        known, scim_ctx=scim_ctx, scim_policy=POLICY
    )
    return request


def _ascii_ci(column: Any) -> Narrower:
    """Case-insensitive equality (``narrowing`` only uses it for ASCII values: SQLite's lower()
    folds no other letters, so for those the in-memory match decides alone)."""

    def narrow(value: str) -> ColumnElement[bool]:
        return func.lower(column) == value.lower()

    return narrow


def _user_name(value: str) -> ColumnElement[bool]:
    # Users never written through SCIM answer to their e-mail address.
    lowered = value.lower()
    return or_(
        func.lower(users.c.username) == lowered,
        and_(users.c.username.is_(None), func.lower(users.c.email) == lowered),
    )


USER_FIELDS: dict[str, Narrower] = {
    "id": lambda v: users.c.id == v,
    "username": _user_name,
    "externalid": lambda v: users.c.external_id == v,
}
GROUP_FIELDS: dict[str, Narrower] = {
    "id": lambda v: groups.c.id == v,
    "displayname": _ascii_ci(groups.c.name),
    "externalid": lambda v: groups.c.external_id == v,
}
_CASE_INSENSITIVE = frozenset({"username", "displayname"})


def narrowing(
    node: FilterNode | None, fields: Mapping[str, Narrower], schema: str
) -> ColumnElement[bool] | None:
    """A SQL condition every resource matching ``node`` meets, or None when there is none to give."""
    if node is None:
        return None
    if isinstance(node, Comparison):
        key = _simple_attribute(node.attr_path, schema)
        if key is None or node.op != CompareOperator.eq or not isinstance(node.value, str):
            return None
        if key in _CASE_INSENSITIVE and not node.value.isascii():
            return None
        narrower = fields.get(key)
        return narrower(node.value) if narrower else None
    if isinstance(node, LogicalExpr):
        parts = [narrowing(term, fields, schema) for term in node.terms]
        if node.op == LogicalOperator.and_:
            kept = [p for p in parts if p is not None]
            return and_(*kept) if kept else None
        if all(p is not None for p in parts):
            return or_(*[p for p in parts if p is not None])
    return None


def _simple_attribute(path: AttrPath, schema: str) -> str | None:
    if path.sub_attr is not None or (path.uri is not None and path.uri.lower() != schema.lower()):
        return None
    return path.attr.lower()


def user_narrowing(request: SearchRequest[Any]) -> ColumnElement[bool] | None:
    """SQL narrowing for a Users query."""
    return narrowing(request.filter.ast if request.filter else None, USER_FIELDS, USER_SCHEMA)


def group_narrowing(request: SearchRequest[Any]) -> ColumnElement[bool] | None:
    """SQL narrowing for a Groups query."""
    return narrowing(request.filter.ast if request.filter else None, GROUP_FIELDS, GROUP_SCHEMA)


def mentions(request: SearchRequest[Any], attribute: str) -> bool:
    """Whether the response needs ``attribute`` (asked for, not excluded, or filtered or sorted on).

    ``members`` of a large group is expensive to read; Entra ID asks for groups with
    ``excludedAttributes=members``.
    """
    name = attribute.lower()
    used = f"{request.filter or ''} {request.sort_by or ''}".lower()
    if name in used:
        return True
    if request.attributes:
        return any(str(p).lower().split(".")[0] == name for p in request.attributes)
    if request.excluded_attributes:
        return not any(str(p).lower() == name for p in request.excluded_attributes)
    return True


def bounds(request: SearchRequest[Any], settings: ScimSettings) -> tuple[int, int]:
    """(startIndex, count) of the page asked for, ``count`` defaulted and capped."""
    start = request.start_index or 1
    if request.count is None:
        return start, settings.default_page_size
    return start, min(request.count, settings.max_page_size)


def list_response(model: Any, total: int, start: int, chosen: list[Resource[Any]]) -> ListResponse[Any]:
    """One page of results."""
    response: ListResponse[Any] = ListResponse[model](
        total_results=total, start_index=start, items_per_page=len(chosen), resources=chosen
    )
    return response


def page(
    model: Any, resources: list[Resource[Any]], request: SearchRequest[Any], settings: ScimSettings
) -> ListResponse[Any]:
    """Filter, sort and cut ``resources`` into the ListResponse the request asks for."""
    if request.filter is not None:
        resources = [r for r in resources if request.filter.match(r)]
    if request.sort_by is not None:
        resources = request.sort(resources)
    start, count = bounds(request, settings)
    return list_response(model, len(resources), start, resources[start - 1 : start - 1 + count])
