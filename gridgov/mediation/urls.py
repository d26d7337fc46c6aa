"""The mediation centre's pages, included under /mediation/ by gridgov/urls.py."""

from django.urls import path

from gridgov.mediation import views

urlpatterns = [
    path("", views.workbench, name="mediation"),
    path("desk/", views.desk_page, name="mediation-desk"),
    path("desk/visits/", views.register_visit, name="mediation-visit"),
    path("desk/disputes/", views.register_dispute, name="mediation-dispute-new"),
    path("desk/transfers/", views.transfer_case, name="mediation-transfer"),
    path("desk/visitors/<int:visitor_id>/reveal/", views.reveal_visitor, name="mediation-visitor-reveal"),
    path("disputes/<int:dispute_id>/", views.dispute_page, name="mediation-dispute"),
    path("disputes/<int:dispute_id>/parties/<int:party_id>/reveal/", views.reveal, name="mediation-reveal"),
    path("disputes/<int:dispute_id>/<str:what>/", views.dispute_action, name="mediation-dispute-action"),
    path("agreements/<int:agreement_id>/pdf/", views.agreement_pdf, name="mediation-agreement-pdf"),
]
