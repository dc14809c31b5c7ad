from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from org.models import User
from org.signals import api_token_issued


@transaction.atomic
def api_token_for(*, user: User, rotate: bool = False) -> str:
    """The user's API token, created if missing; ``rotate`` replaces it.

    Creating and rotating are audited (WDG-302); the key itself never is.
    """
    if rotate:
        Token.objects.filter(user=user).delete()
    token, created = Token.objects.get_or_create(user=user)
    if created:
        api_token_issued.send(sender=User, user=user, rotated=rotate)
    return str(token.key)
