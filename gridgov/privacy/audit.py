"""The audit log's integrity chain, retention and export (等保 2.0 level 3: audit records
protected from change and kept at least six months).

Every entry carries `prev_hash` (the entry before it) and `entry_hash`, an HMAC-SHA256 of its
fields and `prev_hash` under a key derived from the data key: whoever can write the table but
does not hold the key cannot forge a consistent chain. `AuditChainHead` holds the last hash
and the count, so removing the newest entries breaks it as surely as editing old ones.
"""

import csv
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from gridgov.privacy.models import AuditChainHead, AuditEntry

GENESIS = "0" * 64
MIN_RETENTION_DAYS = 183  # six months, the floor of the 等保 2.0 audit requirement


@cache
def _key(data_key: str) -> bytes:
    return hashlib.sha256(b"gridgov-audit\x00" + data_key.encode()).digest()


def digest(entry: AuditEntry) -> str:
    fields = [entry.prev_hash, entry.at.astimezone(UTC).isoformat(), str(entry.actor_id), entry.action,
              entry.object_type, entry.object_id, entry.field, entry.reason, entry.ip_address or ""]
    return hmac.new(_key(settings.DATA_KEY), "\x1f".join(fields).encode(), hashlib.sha256).hexdigest()


def _locked_head() -> AuditChainHead:
    # The UPDATE takes the write lock first (a row lock on PostgreSQL, the database's on SQLite),
    # so two writers never read the same head and fork the chain.
    if not AuditChainHead.objects.filter(pk=1).update(count=F("count")):
        AuditChainHead.objects.create(pk=1, last_hash=GENESIS, anchor_hash=GENESIS)
    return AuditChainHead.objects.select_for_update().get(pk=1)


@transaction.atomic
def append(*, actor, action: str, object_type: str, object_id: str = "", field: str = "",
           reason: str = "", ip_address: str | None = None) -> AuditEntry:
    """The one way an audit entry is written."""
    head = _locked_head()
    entry = AuditEntry.objects.create(
        actor=actor, action=action, object_type=object_type, object_id=object_id, field=field,
        reason=reason[:200], ip_address=ip_address, prev_hash=head.last_hash)
    entry.refresh_from_db(fields=["at"])  # the stored time is the one that will be checked
    entry.entry_hash = digest(entry)
    AuditEntry.objects.filter(pk=entry.pk).update(entry_hash=entry.entry_hash)
    AuditChainHead.objects.filter(pk=1).update(last_hash=entry.entry_hash, count=F("count") + 1)
    return entry


@dataclass
class Verdict:
    checked: int
    broken_at: int | None = None  # the id of the first entry that does not fit
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def verify() -> Verdict:
    """Walk the whole chain from the anchor; name the first entry that does not fit."""
    head = AuditChainHead.objects.filter(pk=1).first()
    expected = head.anchor_hash if head else GENESIS
    checked = 0
    for entry in AuditEntry.objects.order_by("pk").iterator(chunk_size=2000):
        if entry.prev_hash != expected:
            return Verdict(checked, entry.pk, "an entry before this one was removed or inserted")
        if not hmac.compare_digest(digest(entry), entry.entry_hash):
            return Verdict(checked, entry.pk, "this entry was changed")
        expected, checked = entry.entry_hash, checked + 1
    if head and (head.last_hash != expected or head.count != checked):
        return Verdict(checked, None, "the newest entries were removed")
    return Verdict(checked)


def retention_days() -> int:
    days = getattr(settings, "GRIDGOV_AUDIT_RETENTION_DAYS", 365)
    if days < MIN_RETENTION_DAYS:
        raise ImproperlyConfigured(f"GRIDGOV_AUDIT_RETENTION_DAYS is {days}; audit entries are kept "
                                   f"at least {MIN_RETENTION_DAYS} days")
    return days


@transaction.atomic
def purge(actor) -> int:
    """Remove entries older than the retention period; the chain goes on from an anchor (the
    last removed entry's hash), and the purge is itself an entry."""
    cutoff = timezone.now() - timedelta(days=retention_days())
    _locked_head()
    old = AuditEntry.objects.filter(at__lt=cutoff).order_by("pk")
    last = old.last()
    if last is None:
        return 0
    removed, _kinds = AuditEntry.objects.filter(pk__lte=last.pk).delete()
    AuditChainHead.objects.filter(pk=1).update(anchor_hash=last.entry_hash, count=F("count") - removed)
    append(actor=actor, action=AuditEntry.Action.PURGE, object_type="privacy.auditentry",
           object_id=str(last.pk), reason=f"retention {retention_days()} days: {removed} entries")
    return removed


EXPORT_COLUMNS = ["id", "at", "actor", "action", "object_type", "object_id", "field", "reason",
                  "ip_address", "prev_hash", "entry_hash"]


def export_csv(out, *, actor, since=None, until=None, reason: str) -> int:
    """The entries of a period as CSV with their hashes (so a copy can be checked for gaps);
    the export is itself an audit entry."""
    entries = AuditEntry.objects.select_related("actor").order_by("pk")
    if since:
        entries = entries.filter(at__date__gte=since)
    if until:
        entries = entries.filter(at__date__lte=until)
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for e in entries.iterator(chunk_size=2000):
        writer.writerow([e.pk, e.at.isoformat(), e.actor.username, e.action, e.object_type, e.object_id,
                         e.field, e.reason, e.ip_address or "", e.prev_hash, e.entry_hash])
        count += 1
    append(actor=actor, action=AuditEntry.Action.EXPORT, object_type="privacy.auditentry",
           object_id=f"{since or ''}..{until or ''}", reason=reason)
    return count
