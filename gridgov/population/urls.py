"""Registry pages of the care file (一人一档), included under /registry/ by gridgov/urls.py."""

from django.urls import path

from gridgov.population import views

urlpatterns = [
    path("care/", views.care_overdue, name="registry-care-overdue"),
    path("people/<int:person_id>/care/", views.care_page, name="registry-care"),
    path("people/<int:person_id>/care/<str:what>/", views.care_action, name="registry-care-action"),
]
