"""Deployment checks (`gridgov check --deploy`) for what Django's own do not know about gridgov."""

import os

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def shared_state_for_several_servers(app_configs, **kwargs):
    """On PostgreSQL gridgov is meant to run on several app servers; each must read the same
    keys and share one job queue and cache. Keys generated into one server's var/ would make
    the others unable to read its encrypted ID numbers and phones, or its sessions."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return []
    found = []
    for name in ("GRIDGOV_DATA_KEY", "GRIDGOV_SECRET_KEY"):
        if not os.environ.get(name):
            found.append(Warning(
                f"{name} is not set: the key was generated into {settings.VAR_DIR} on this server only.",
                hint=f"Set {name} to the same value on every app server and huey consumer "
                     "(and keep a copy with the backups: docs/deployment.md).",
                id="gridgov.W001"))
    if not settings.REDIS_URL:
        found.append(Warning(
            "REDIS_URL is not set: each server keeps its own job queue and cache (login and "
            "texted-code limits would count per server).",
            hint="Set REDIS_URL on every app server and huey consumer.", id="gridgov.W002"))
    return found
