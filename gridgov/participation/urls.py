"""Message-board pages, included under /board/ by gridgov/urls.py."""

from django.urls import path

from gridgov.participation import views

urlpatterns = [
    path("", views.board_page, name="board"),
    path("new/", views.new_post, name="board-new"),
    path("<int:post_id>/", views.post_page, name="board-post"),
    path("<int:post_id>/<str:what>/", views.post_action, name="board-post-action"),
    path("proposals/", views.proposals_page, name="proposals"),
    path("proposals/new/", views.new_proposal, name="proposal-new"),
    path("proposals/<int:proposal_id>/", views.proposal_page, name="proposal"),
    path("proposals/<int:proposal_id>/<str:what>/", views.proposal_action, name="proposal-action"),
    path("votes/<int:vote_id>/<str:what>/", views.vote_action, name="vote-action"),
    path("meetings/<int:meeting_id>/<str:what>/", views.meeting_action, name="meeting-action"),
    path("elections/", views.elections_page, name="elections"),
    path("elections/new/", views.new_election, name="election-new"),
    path("elections/<int:election_id>/", views.election_page, name="election"),
    path("elections/<int:election_id>/<str:what>/", views.election_action, name="election-action"),
    path("residents/<int:user_id>/verify/", views.verify_resident, name="resident-verify"),
]
