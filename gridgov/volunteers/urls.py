"""Volunteer pages, included under /volunteers/ by gridgov/urls.py."""

from django.urls import path

from gridgov.volunteers import views

urlpatterns = [
    path("", views.portal, name="volunteers-portal"),
    path("apply/", views.apply, name="volunteers-apply"),
    path("checkin/", views.checkin, name="volunteers-checkin"),
    path(
        "activities/<int:activity_id>/<str:what>/", views.activity_action, name="volunteers-activity-action"
    ),
    path("orders/", views.order, name="volunteers-order"),
    path("orders/<int:order_id>/<str:what>/", views.order_action, name="volunteers-order-action"),
    path("groups/<int:group_id>/", views.group_page, name="volunteers-group"),
    path("groups/<int:group_id>/<str:what>/", views.group_action, name="volunteers-group-action"),
    path("certificates/", views.issue_certificate, name="volunteers-certificate-issue"),
    path("certificates/<int:certificate_id>.pdf", views.certificate_pdf, name="volunteers-certificate-pdf"),
    path("certificates/verify/<str:code>/", views.verify_certificate, name="volunteers-certificate-verify"),
    path("staff/", views.staff, name="volunteers-staff"),
    path("staff/groups/", views.create_group, name="volunteers-group-create"),
    path("staff/volunteers/<int:volunteer_id>/<str:action>/", views.decide, name="volunteers-decide"),
    path("staff/points/", views.award, name="volunteers-award"),
    path(
        "staff/teams/<int:team_id>/members/<int:volunteer_id>/remove/",
        views.remove_member,
        name="volunteers-team-remove",
    ),
    path("staff/teams/<int:team_id>/leader/", views.change_leader, name="volunteers-team-leader"),
    path(
        "staff/certificates/<int:certificate_id>/revoke/",
        views.revoke_certificate,
        name="volunteers-certificate-revoke",
    ),
    path("staff/activities/", views.publish, name="volunteers-publish"),
    path("staff/activities/<int:activity_id>/", views.staff_activity, name="volunteers-staff-activity"),
    path("staff/activities/<int:activity_id>/qr/", views.staff_qr, name="volunteers-qr"),
    path(
        "staff/activities/<int:activity_id>/<str:what>/",
        views.staff_activity_action,
        name="volunteers-staff-activity-action",
    ),
]
