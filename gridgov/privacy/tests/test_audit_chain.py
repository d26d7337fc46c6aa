"""The audit log's chain: any change, removal or insertion is found; export and retention keep it whole."""

import csv
import io
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from gridgov.core.testing import UserFactory, admin_user
from gridgov.privacy import audit
from gridgov.privacy.models import AuditChainHead, AuditEntry
from gridgov.privacy.services import record_reveal


def reveal(actor, n: int) -> list[AuditEntry]:
    return [record_reveal(actor=actor, obj=actor, field="phone", reason=f"回访第{i}次") for i in range(n)]


@pytest.mark.django_db
def test_entries_chain_and_verify():
    entries = reveal(UserFactory(), 4)
    assert entries[0].prev_hash == audit.GENESIS
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    assert audit.verify().ok and audit.verify().checked == 4


@pytest.mark.django_db
def test_a_changed_entry_is_named():
    entries = reveal(UserFactory(), 4)
    AuditEntry.objects.filter(pk=entries[2].pk).update(reason="改过的理由")
    verdict = audit.verify()
    assert (verdict.ok, verdict.broken_at, verdict.checked) == (False, entries[2].pk, 2)


@pytest.mark.django_db
def test_a_removed_or_inserted_entry_breaks_the_chain():
    entries = reveal(UserFactory(), 4)
    AuditEntry.objects.filter(pk=entries[1].pk).delete()
    assert audit.verify().broken_at == entries[2].pk


@pytest.mark.django_db
def test_removing_the_newest_entries_is_noticed():
    entries = reveal(UserFactory(), 4)
    AuditEntry.objects.filter(pk=entries[-1].pk).delete()
    verdict = audit.verify()
    assert not verdict.ok and "newest" in verdict.problem


@pytest.mark.django_db
def test_a_forged_hash_without_the_key_does_not_fit(settings):
    entries = reveal(UserFactory(), 2)
    real_key = settings.DATA_KEY
    settings.DATA_KEY = "another key"  # an attacker recomputing hashes without the real key
    forged = AuditEntry.objects.get(pk=entries[1].pk)
    forged.reason = "改过的理由"
    AuditEntry.objects.filter(pk=forged.pk).update(reason=forged.reason, entry_hash=audit.digest(forged))
    settings.DATA_KEY = real_key
    verdict = audit.verify()
    assert (verdict.ok, verdict.broken_at) == (False, entries[1].pk)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_make_one_chain():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer anyway; threads share its in-memory test database")
    actor = UserFactory()

    def write():
        try:
            reveal(actor, 10)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = audit.verify()
    assert verdict.ok and verdict.checked == 40


@pytest.mark.django_db
def test_export_carries_the_hashes_and_is_itself_audited():
    auditor = admin_user()
    entries = reveal(UserFactory(), 3)
    out = io.StringIO()
    assert audit.export_csv(out, actor=auditor, reason="季度审计") == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["entry_hash"] for r in rows] == [e.entry_hash for e in entries]
    assert rows[1]["prev_hash"] == rows[0]["entry_hash"]
    last = AuditEntry.objects.order_by("-pk").first()
    assert (last.action, last.actor, last.reason) == ("export", auditor, "季度审计")
    assert audit.verify().ok


@pytest.mark.django_db
def test_purge_keeps_six_months_and_the_chain_goes_on(settings):
    settings.GRIDGOV_AUDIT_RETENTION_DAYS = 200
    auditor, actor = admin_user(), UserFactory()
    old = reveal(actor, 3)
    AuditEntry.objects.filter(pk__in=[e.pk for e in old[:2]]).update(at=timezone.now() - timedelta(days=201))
    # The times changed, so re-chain what the test made as if written then (purge reads `at`).
    previous = audit.GENESIS
    for entry in AuditEntry.objects.order_by("pk"):
        entry.prev_hash = previous
        entry.entry_hash = audit.digest(entry)
        AuditEntry.objects.filter(pk=entry.pk).update(prev_hash=previous, entry_hash=entry.entry_hash)
        previous = entry.entry_hash
    AuditChainHead.objects.filter(pk=1).update(last_hash=previous)
    assert audit.purge(auditor) == 2
    assert list(AuditEntry.objects.values_list("pk", flat=True).order_by("pk"))[0] == old[2].pk
    verdict = audit.verify()
    assert verdict.ok and verdict.checked == 2  # the kept entry and the purge's own entry
    settings.GRIDGOV_AUDIT_RETENTION_DAYS = 90
    with pytest.raises(ImproperlyConfigured):
        audit.purge(auditor)


@pytest.mark.django_db
def test_the_command_verifies_and_fails_loudly(capsys):
    entries = reveal(UserFactory(), 2)
    call_command("audit", "verify")
    assert "2 entries" in capsys.readouterr().out
    AuditEntry.objects.filter(pk=entries[0].pk).update(object_id="999")
    with pytest.raises(CommandError, match=f"entry {entries[0].pk}"):
        call_command("audit", "verify")
