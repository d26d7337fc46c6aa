"""研判 pages, included under /insights/ by gridgov/urls.py."""

from django.urls import path

from gridgov.insights import views

urlpatterns = [
    path("", views.warnings_page, name="insights"),
    path("map.json", views.map_points, name="insights-map"),
    path("run/", views.run_now, name="insights-run"),
    path("<int:warning_id>/", views.warning_page, name="insights-warning"),
    path("<int:warning_id>/<str:name>/", views.warning_step, name="insights-step"),
]
