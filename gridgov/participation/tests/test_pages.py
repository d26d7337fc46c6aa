"""The message board's pages: a resident posts and follows on the phone, the grid's staff
answer from their queue and the post's page (reply, take up as a case, hide)."""

import pytest

from gridgov.accounts.models import Role
from gridgov.cases.models import Case, Category
from gridgov.participation.models import Post

pytestmark = pytest.mark.django_db


def test_a_resident_posts_and_staff_answer_on_the_pages(town, client_for):
    resident = client_for(town.resident)
    assert 'id="board-link"' in resident.get("/resident/").content.decode()
    page = resident.get("/board/").content.decode()
    assert 'id="board-form"' in page and town.grid_a.name in page
    refused = resident.post(
        "/board/new/", {"kind": "suggestion", "title": "", "body": "x", "next": "/board/"}, follow=True
    )
    assert 'class="error"' in refused.content.decode() and not Post.objects.exists()
    made = resident.post(
        "/board/new/",
        {
            "kind": "question",
            "title": "垃圾什么时候收",
            "body": "每天几点收垃圾？",
            "grid_code": town.grid_a.code,
            "is_public": "on",
        },
        follow=True,
    )
    found = Post.objects.get()
    assert made.redirect_chain[-1][0] == f"/board/{found.pk}/" and "每天几点收垃圾" in made.content.decode()

    worker = client_for(town.worker)
    queue = worker.get("/board/").content.decode()
    assert f'data-post="{found.pk}"' in queue.split('id="board-queue"')[1]
    post_page = worker.get(f"/board/{found.pk}/").content.decode()
    assert (
        'id="reply-form"' in post_page
        and 'id="case-form"' in post_page
        and 'id="to-proposal-form"' in post_page
    )
    worker.post(f"/board/{found.pk}/reply/", {"text": "每天早上7点"})
    found.refresh_from_db()
    assert found.state == "replied" and found.replied_on_time
    shown = resident.get(f"/board/{found.pk}/").content.decode()
    assert "每天早上7点" in shown and 'id="rate-form"' in shown
    resident.post(f"/board/{found.pk}/rate/", {"rating": "satisfied"})
    assert Post.objects.get().rating == "satisfied"

    category = Category.objects.get(kind="matter", code="06010")
    worker.post(f"/board/{found.pk}/case/", {"category_id": category.pk})
    assert Case.objects.get().reporter == town.resident
    assert 'id="post-case"' in client_for(town.neighbour).get(f"/board/{found.pk}/").content.decode()
    neighbour = client_for(town.neighbour)
    neighbour.post(f"/board/{found.pk}/me-too/")
    assert found.me_too.count() == 1
    worker.post(f"/board/{found.pk}/hide/", {"reason": "重复"})
    assert neighbour.get(f"/board/{found.pk}/").status_code == 404
    assert client_for(town.worker_b).get(f"/board/{found.pk}/").status_code == 404


def test_a_proposal_is_discussed_voted_and_decided_on_the_pages(town, client_for):
    from gridgov.participation.models import Proposal, Vote

    resident, worker = client_for(town.resident), client_for(town.worker)
    assert 'id="proposals-link"' in resident.get("/board/").content.decode()
    made = resident.post(
        "/board/proposals/new/",
        {"title": "加装电梯", "body": "6层老楼加装电梯", "grid_code": town.grid_a.code},
        follow=True,
    )
    found = Proposal.objects.get()
    assert made.redirect_chain[-1][0] == f"/board/proposals/{found.pk}/"
    assert 'id="proposal-run"' not in made.content.decode()  # residents do not run it
    page = f"/board/proposals/{found.pk}/"
    worker.post(f"{page}accept/")
    resident.post(f"{page}comment/", {"text": "希望尽快落实"})
    assert "希望尽快落实" in worker.get(page).content.decode()
    worker.post(f"{page}meeting/", {"kind": "meeting", "place": "议事厅", "starts_at": "2030-01-05T19:00"})
    worker.post(
        f"{page}vote/",
        {
            "question": "同意加装电梯吗？",
            "electorate": "residents",
            "majority": "simple",
            "quorum": "50",
            "days": "7",
        },
    )
    vote = Vote.objects.get()
    shown = resident.get(page).content.decode()
    assert 'id="ballot-form"' in shown and "议事厅" in shown
    resident.post(f"/board/votes/{vote.pk}/ballot/", {"choice": "0"})
    client_for(town.neighbour).post(f"/board/votes/{vote.pk}/ballot/", {"choice": "0"})
    assert (
        "您已经投过票了"
        in resident.post(f"/board/votes/{vote.pk}/ballot/", {"choice": "1"}, follow=True).content.decode()
    )
    worker.post(f"/board/votes/{vote.pk}/close/")
    worker.post(f"{page}decide/", {"decision": "通过，启动加装"})
    decided = resident.get(page).content.decode()
    assert 'id="proposal-decision"' in decided and "赞成" in decided
    assert Proposal.objects.get().state == "decided"


def test_photos_elections_and_verification_on_the_pages(town, client_for, settings, tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from gridgov.accounts import residence
    from gridgov.core.testing import staff
    from gridgov.participation.models import Attachment, Election, Representative

    settings.MEDIA_ROOT = tmp_path

    def jpeg(name):
        buffer = io.BytesIO()
        Image.new("RGB", (40, 30), (10, 120, 10)).save(buffer, "JPEG")
        return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")

    resident = client_for(town.resident)
    resident.post(
        "/board/new/",
        {
            "kind": "complaint",
            "title": "井盖松动",
            "body": "3幢门口",
            "photos": [jpeg("a.jpg")],
            "is_public": "on",
        },
    )
    found = Post.objects.get()
    assert found.attachments.count() == 1
    page = resident.get(f"/board/{found.pk}/").content.decode()
    assert 'id="post-photos"' in page and 'id="photos-form"' in page
    resident.post(f"/board/{found.pk}/photos/", {"photos": [jpeg("b.jpg")]})
    assert Attachment.objects.filter(post=found).count() == 2

    declared = staff(Role.RESIDENT, town.grid_a, name="自报")
    worker = client_for(town.worker)
    listing = worker.get("/board/elections/").content.decode()
    assert 'id="election-form"' in listing and f'data-resident="{declared.pk}"' in listing
    worker.post(f"/board/residents/{declared.pk}/verify/")
    assert residence.home_verified(declared)

    worker.post(
        "/board/elections/new/",
        {
            "grid_code": town.grid_a.code,
            "starts_on": "2027-01-01",
            "ends_on": "2029-12-31",
            "candidates": [town.neighbour.pk, declared.pk],
            "quorum": "0",
            "days": "7",
        },
    )
    election = Election.objects.get()
    ballot_page = resident.get(f"/board/elections/{election.pk}/").content.decode()
    assert 'id="election-ballot"' in ballot_page
    pick = election.candidates.get(user=town.neighbour).pk
    resident.post(f"/board/elections/{election.pk}/ballot/", {"choices": [str(pick)]})
    worker.post(f"/board/elections/{election.pk}/close/")
    result = resident.get(f"/board/elections/{election.pk}/").content.decode()
    assert 'id="election-result"' in result
    assert Representative.objects.get().user == town.neighbour
