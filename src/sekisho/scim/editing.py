"""PUT and PATCH, the same for Users and Groups: both become a change applied inside ``_update``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from scim2_models import PatchOp, Resource

from sekisho.scim.schema import POLICY
from sekisho.scim.tokens import ScimCaller

Change = Callable[[Resource[Any]], Resource[Any]]


class Editable(ABC):
    """A resource collection whose ``_update`` applies a change under the row's lock and audits it."""

    @abstractmethod
    def _update(
        self,
        caller: ScimCaller,
        resource_id: str,
        change: Change,
        base_url: str,
        if_match: str | None,
    ) -> Resource[Any]: ...

    def replace(
        self,
        caller: ScimCaller,
        resource_id: str,
        replacement: Resource[Any],
        base_url: str,
        *,
        if_match: str | None = None,
    ) -> Resource[Any]:
        """Replace the resource's attributes (PUT); read-only attributes are kept."""

        def change(current: Resource[Any]) -> Resource[Any]:
            replacement.replace(current)
            return replacement

        return self._update(caller, resource_id, change, base_url, if_match)

    def patch(
        self,
        caller: ScimCaller,
        resource_id: str,
        operations: PatchOp[Any],
        base_url: str,
        *,
        if_match: str | None = None,
    ) -> Resource[Any]:
        """Apply PATCH operations (for groups: member additions and removals, renames)."""

        def change(current: Resource[Any]) -> Resource[Any]:
            operations.patch(current, scim_policy=POLICY)
            return current

        return self._update(caller, resource_id, change, base_url, if_match)
