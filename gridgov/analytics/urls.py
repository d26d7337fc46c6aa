from django.urls import path

from gridgov.analytics import views

urlpatterns = [
    path("rankings/", views.rankings, name="analytics-rankings"),
]
