"""How a deployer's call authenticates: the API token machinery, wherever the key travels.

Flagger sends no headers of its own, so its webhooks carry the key in their
``metadata`` (``metadata.token``) or in the URL (``?token=``). Argo Rollouts
can send ``Authorization: Token <key>``. Whichever way it comes, it is the same
scoped token, looked up, throttled when it fails, audited when revoked or
expired and checked against the view's ``required_scope`` exactly as
``config.api.auth`` does for the header.

Prefer ``metadata.token`` to ``?token=``: proxies and access logs record
query strings. Wedge itself never logs or echoes a key.
"""

from __future__ import annotations

from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request

from config.api.auth import ApiTokenAuthentication
from gates.calls import token_in
from org.models import ApiToken, User


class GateTokenAuthentication(ApiTokenAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = get_authorization_header(request).split()
        if header and header[0].lower() == self.keyword.lower().encode():
            return super().authenticate(request)
        key = request.query_params.get("token")
        if key is None and request.method == "POST":
            # Parsing here: a malformed body is a 400 before anything else.
            key = token_in(request.data)
        if key is None:
            return None
        found: str = key
        return self.authenticate_key(request, lambda: found)
