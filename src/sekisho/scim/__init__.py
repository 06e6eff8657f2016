"""SCIM 2.0 provisioning (RFC 7643/7644) at /scim/v2, with per-organisation bearer tokens.

``sekisho.settings`` imports this package for ``ScimSettings``, so it stays empty: ``build_app``
takes what it needs from ``sekisho.scim.wiring``.
"""
