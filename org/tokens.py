from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from audit.codes import EventCode
from audit.services import record_event
from org.models import User


@transaction.atomic
def api_token_for(*, user: User, rotate: bool = False) -> str:
    """The user's API token, created if missing; ``rotate`` replaces it.

    Creating and rotating are audited (WDG-302); the key itself never is.
    """
    if rotate:
        Token.objects.filter(user=user).delete()
    token, created = Token.objects.get_or_create(user=user)
    if created:
        record_event(
            code=EventCode.API_TOKEN_ISSUED,
            actor=user,
            data={"user": user.username, "rotated": rotate},
        )
    return str(token.key)
