"""The admin REST API (/admin/v1), documented by its OpenAPI schema at /openapi.json."""

from sekisho.admin.routes import admin_router
from sekisho.admin.services import AdminServices

__all__ = ["AdminServices", "admin_router"]
