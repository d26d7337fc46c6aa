"""Open311 GeoReport v2, included under /open311/v2/ by gridgov/urls.py."""

from django.urls import path
from django.views.generic import RedirectView

from gridgov.open311 import views

urlpatterns = [
    path("", RedirectView.as_view(url="discovery.json"), name="open311-root"),
    path("discovery.<str:fmt>", views.discovery, name="open311-discovery"),
    path("services.<str:fmt>", views.service_list, name="open311-services"),
    path("services/<str:code>.<str:fmt>", views.service_definition, name="open311-service"),
    path("requests.<str:fmt>", views.requests_endpoint, name="open311-requests"),
    path("requests/<str:request_id>.<str:fmt>", views.one_request, name="open311-request"),
    path("tokens/<str:token>.<str:fmt>", views.token, name="open311-token"),
]

# The public map and its feeds, included under /public/.
public_urlpatterns = [
    path("map/", views.public_map, name="public-map"),
    path("reports.geojson", views.reports_geojson, name="public-reports"),
    path("grids.geojson", views.grids_geojson, name="public-grids"),
]
