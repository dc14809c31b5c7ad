"""Where a deployer's key travels when it cannot send ``Authorization: Token <key>``.

Flagger sends no headers of its own, so its webhooks carry the key in their
``metadata`` (``metadata.token``) or in the URL (``?token=``). The gate views
offer this as their ``token_without_header``; the API's one token
authentication (``config.api.auth``) then checks the key exactly as it checks
the header: looked up by hash, throttled when it fails, audited when revoked
or expired, held against the scope the permission table (``config.permissions``) names
for the gate.

Prefer ``metadata.token`` to ``?token=``: proxies and access logs record
query strings. Wedge itself never logs or echoes a key.
"""

from __future__ import annotations

from rest_framework.request import Request

from gates.calls import token_in


def token_without_header(request: Request) -> str | None:
    """``?token=``, else (for a POST) ``metadata.token`` of the JSON body, else ``None``."""
    key = request.query_params.get("token")
    if key is None and request.method == "POST":
        # Parsing here: a malformed body is a 400 before anything else.
        key = token_in(request.data)
    return key
