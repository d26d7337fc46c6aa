from django.urls import path

from gridgov.consoles import views

urlpatterns = [
    path("console/dispatch/", views.dispatch, name="console-dispatch"),
    path("console/dispatch/queue/", views.dispatch_queue, name="console-dispatch-queue"),
    path("console/hotline/", views.hotline_desk, name="console-hotline"),
    path("console/worker/", views.worker, name="console-worker"),
    path("console/report/", views.report, name="console-report"),
    path("console/handler/", views.handler, name="console-handler"),
    path("console/leader/", views.leader, name="console-leader"),
    path("resident/", views.resident_home, name="resident-home"),
    path("resident/home-grid/", views.resident_home_grid, name="resident-home-grid"),
    path("resident/new/", views.resident_new, name="resident-new"),
    path("resident/requests/<int:case_id>/", views.resident_request, name="resident-request"),
    path("resident/requests/<int:case_id>/rate/", views.resident_rate, name="resident-rate"),
    path("manifest.webmanifest", views.manifest, name="pwa-manifest"),
    path("sw.js", views.service_worker, name="pwa-service-worker"),
]
