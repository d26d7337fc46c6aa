"""Storing a case's photos and recordings: inspected by content, located, thumbnailed.

The request only inspects (the 400s and the EXIF point) and holds a photo as received; the
job `cases.tasks.finish_photo`, queued when the transaction commits, stores it without its
location and makes the thumbnail. `finish_stale_photos` picks up what a lost job left.
"""

from functools import partial

from django.db import transaction

from gridgov.cases.models import Attachment
from gridgov.core.uploads import hold, inspect_uploads


def inspect(files) -> list:
    """Check every file before anything is written; raises one error listing all problems."""
    return inspect_uploads(list(files)) if files else []


def store_attachments(case, files, *, stage: str, actor, log=None, infos=None) -> list[Attachment]:
    from gridgov.cases.tasks import finish_photo

    infos = infos if infos is not None else inspect(files)
    stored = []
    for upload, info in zip(files, infos, strict=True):
        attachment = Attachment(
            case=case, log=log, stage=stage, kind=info.kind, mime=info.mime,
            extension=info.extension, size=info.size, sha256=info.sha256, width=info.width,
            height=info.height, taken_at=info.taken_at, uploaded_by=actor)
        # The location lives in the case's own fields; the stored photo will carry none.
        hold(attachment, upload, info)
        attachment.save()
        if attachment.held:
            # robust: a queue that is down must not fail a report already saved; the
            # periodic sweep finishes the photo then.
            transaction.on_commit(partial(finish_photo, attachment.pk), robust=True)
        stored.append(attachment)
    return stored


def first_point(infos) -> tuple[float, float] | None:
    """The EXIF location of the first photo that has one: (lat, lon) in WGS-84."""
    for info in infos:
        if info.point:
            return info.point
    return None
