from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One access to full personal data or one export: who, what, when, why.

    Append-only, and chained: each entry's `entry_hash` is a keyed hash of its fields and the
    previous entry's hash (`privacy/audit.py`), so a changed, removed or inserted row breaks
    the chain. Only `audit.append` writes entries; only `audit.purge` removes old ones.
    """

    class Action(models.TextChoices):
        REVEAL = "reveal", _("Reveal full value")
        EXPORT = "export", _("Export")
        PURGE = "purge", _("Purge entries past retention")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("actor")
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object ID"), max_length=64)
    field = models.CharField(_("field"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    prev_hash = models.CharField(_("previous entry's hash"), max_length=64, default="", editable=False)
    entry_hash = models.CharField(_("entry hash"), max_length=64, default="", editable=False)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}#{self.object_id}"


class AuditChainHead(models.Model):
    """The chain's one head row: the last entry's hash and the number of entries, so removing
    the newest entries is noticed too, and the anchor (the hash before the oldest entry kept
    after a purge). Appending locks this row, which serialises writers: one chain, no forks."""

    last_hash = models.CharField(max_length=64)
    count = models.PositiveBigIntegerField(default=0)
    anchor_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"{self.count} entries, last {self.last_hash[:12]}"
