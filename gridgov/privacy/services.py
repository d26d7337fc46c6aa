"""Revealing personal data: permission-checked, and always written to the audit log."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.privacy import audit
from gridgov.privacy.models import AuditEntry


@transaction.atomic
def record_reveal(*, actor, obj, field: str, reason: str, ip_address: str | None = None):
    """Write the audit entry for one reveal; callers check permission first."""
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError({"reason": _("Say why you need the full value.")})
    if not actor.is_authenticated:
        raise PermissionDenied
    return audit.append(
        actor=actor,
        action=AuditEntry.Action.REVEAL,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        field=field,
        reason=reason,
        ip_address=ip_address,
    )
