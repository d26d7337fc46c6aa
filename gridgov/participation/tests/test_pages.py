"""The message board's pages: a resident posts and follows on the phone, the grid's staff
answer from their queue and the post's page (reply, take up as a case, hide)."""

import pytest

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
    assert 'id="reply-form"' in post_page and 'id="case-form"' in post_page
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
