from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from org.models import User


@transaction.atomic
def api_token_for(*, user: User, rotate: bool = False) -> str:
    """The user's API token, created if missing; ``rotate`` replaces it."""
    if rotate:
        Token.objects.filter(user=user).delete()
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)
