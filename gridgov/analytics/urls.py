from django.urls import path

from gridgov.analytics import views

urlpatterns = [
    path("", views.dashboard_page, name="analytics-dashboard"),
    path("screen/", views.big_screen, name="analytics-screen"),
    path("rankings/", views.rankings, name="analytics-rankings"),
    path("report.<str:fmt>", views.report_download, name="analytics-report"),
]
