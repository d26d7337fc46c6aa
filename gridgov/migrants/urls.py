"""The migrants app's pages, included under /migrants/ by gridgov/urls.py."""

from django.urls import path

from gridgov.migrants import views

urlpatterns = [
    path("dormitories/", views.dormitory_list, name="migrants-dormitories"),
    path("dormitories/<int:dormitory_id>/", views.dormitory_page, name="migrants-dormitory"),
    path("dormitories/<int:dormitory_id>/rooms/", views.rooms_add, name="migrants-rooms-add"),
    path("dormitories/<int:dormitory_id>/assign/", views.assign, name="migrants-assign"),
    path("dormitories/<int:dormitory_id>/check-in/", views.check_in, name="migrants-check-in"),
    path("dormitories/<int:dormitory_id>/cards/", views.card_issue, name="migrants-card-issue"),
    path("stays/<int:stay_id>/check-out/", views.check_out, name="migrants-check-out"),
    path("cards/<int:card_id>/<str:action>/", views.card_step, name="migrants-card-step"),
    path("employer/", views.employer_page, name="migrants-employer"),
    path("employer/<int:organization_id>/workers/", views.worker_new, name="migrants-worker-new"),
    path("employer/<int:organization_id>/import/", views.workers_import, name="migrants-import"),
    path("employments/<int:employment_id>/end/", views.worker_left, name="migrants-worker-left"),
    path("permits/", views.permits_page, name="migrants-permits"),
    path("permits/apply/", views.permit_apply, name="migrants-permit-apply"),
    path("permits/<int:permit_id>/<str:step>/", views.permit_step, name="migrants-permit-step"),
    path("permits/reminders/<int:notification_id>/read/", views.reminder_read, name="migrants-reminder-read"),
    path("rentals/", views.rentals_page, name="migrants-rentals"),
    path("rentals/new/", views.rental_new, name="migrants-rental-new"),
    path("rentals/<int:rental_id>/", views.rental_page, name="migrants-rental"),
    path("rentals/<int:rental_id>/inspect/", views.rental_inspect, name="migrants-inspect"),
    path("inspections/<int:inspection_id>/case/", views.finding_case, name="migrants-finding-case"),
]
