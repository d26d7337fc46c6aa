"""Services near people's pages, included under /services/ by gridgov/urls.py."""

from django.urls import path

from gridgov.services import views

urlpatterns = [
    path("map/", views.service_map, name="services-map"),
    path("map/points.geojson", views.map_points, name="services-map-points"),
    path("near/", views.near_page, name="services-near"),
    path("points/<int:point_id>/rate/", views.rate_point, name="services-rate"),
    path("orders/", views.orders_desk, name="services-orders"),
    path("orders/new/", views.place_order, name="services-order-new"),
    path("orders/<int:order_id>/<str:name>/", views.order_step, name="services-order-step"),
    path("errands/", views.errands_page, name="services-errands"),
    path("errands/new/", views.errand_new, name="services-errand-new"),
    path("errands/<int:errand_id>/", views.errand_page, name="services-errand"),
    path("errands/<int:errand_id>/<str:action>/", views.errand_action, name="services-errand-action"),
    path("jobs/", views.jobs_page, name="services-jobs"),
    path("jobs/wishes/", views.wish_new, name="services-wish-new"),
    path("jobs/openings/", views.opening_new, name="services-opening-new"),
    path("jobs/matches/", views.match_new, name="services-match-new"),
    path("jobs/matches/<int:match_id>/", views.match_decide, name="services-match-decide"),
]
