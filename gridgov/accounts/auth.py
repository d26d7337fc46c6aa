"""API authentication: the session cookie for pages, bearer tokens for clients."""

import hashlib
import secrets

from django.utils import timezone
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth

from gridgov.accounts.models import ApiToken


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(user, name: str) -> str:
    """Create a token and return its key; only the hash is kept, so show it once."""
    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name[:100], key_hash=_digest(key))
    return key


class SessionAuth(NinjaSessionAuth):
    """Session cookie with CSRF checks on unsafe methods."""


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        found = (ApiToken.objects.select_related("user")
                 .filter(key_hash=_digest(token), user__is_active=True).first())
        if found is None:
            return None
        now = timezone.now()
        if found.expires_at and found.expires_at < now:
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        return found.user
