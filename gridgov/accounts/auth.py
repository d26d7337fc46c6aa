"""API authentication: the session cookie for pages, bearer tokens for clients."""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth

from gridgov.accounts.models import ApiToken

LAST_USED_GRANULARITY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(user, name: str) -> str:
    """Create a token and return its key; only the hash is kept, so show it once."""
    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name[:100], key_hash=_digest(key))
    return key


class SessionAuth(NinjaSessionAuth):
    """Session cookie with CSRF checks on unsafe methods.

    Without a session cookie there is nothing to forge, so the CSRF check (which ninja runs
    first) is skipped and the caller gets a plain 401 instead of a misleading CSRF error."""

    def _get_key(self, request):
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        found = (ApiToken.objects.select_related("user")
                 .filter(key_hash=_digest(token), user__is_active=True).first())
        if found is None:
            return None
        now = timezone.now()
        if found.expires_at and found.expires_at < now:
            return None
        # Last use to the minute is enough to spot stale tokens; a write per request is not.
        if found.last_used_at is None or now - found.last_used_at > LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        return found.user
