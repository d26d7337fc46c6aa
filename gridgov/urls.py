from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from gridgov.accounts import views as account_views
from gridgov.accounts.lockout import LockoutAdminAuthenticationForm, LockoutAuthenticationForm
from gridgov.api import api
from gridgov.cases import views as case_views
from gridgov.core import views as core_views
from gridgov.engagement import views as notice_views
from gridgov.grids import views as grid_views
from gridgov.open311 import urls as open311_urls
from gridgov.patrols import views as patrol_views
from gridgov.population import views as registry_views

admin.site.site_header = "gridgov 网格化社会治理"
admin.site.site_title = "gridgov"
admin.site.login_form = LockoutAdminAuthenticationForm

urlpatterns = [
    path("", core_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="core/login.html",
                                                authentication_form=LockoutAuthenticationForm), name="login"),
    path("resident/login/", account_views.resident_login, name="resident-login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", account_views.change_password, name="password-change"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("grids/map/", grid_views.grid_map, name="grid-map"),
    path("grids/<str:code>/", grid_views.grid_page, name="grid-page"),
    path("grids/<str:code>/card.pdf", grid_views.grid_card, name="grid-card"),
    path("cases/", case_views.case_list, name="case-list"),
    path("cases/<int:case_id>/", case_views.case_page, name="case-page"),
    path("cases/<int:case_id>/<str:action>/", case_views.case_action, name="case-action"),
    path("registry/", registry_views.people, name="registry-people"),
    path("registry/buildings/<int:building_id>/", registry_views.building_page, name="registry-building"),
    path("registry/buildings/<int:building_id>/survey/<str:what>/", registry_views.building_survey,
         name="registry-building-survey"),
    path("registry/visits/", registry_views.visits_due, name="registry-visits"),
    path("registry/visits/<int:household_id>/", registry_views.record_visit, name="registry-visit"),
    path("registry/import/", registry_views.import_page, name="registry-import"),
    path("registry/import/<int:job_id>/", registry_views.import_job, name="registry-import-job"),
    path("registry/export/", registry_views.export_ledger, name="registry-export"),
    path("registry/", include("gridgov.population.urls")),  # care files (一人一档)
    path("notices/", notice_views.notice_list, name="notice-list"),
    path("notices/new/", notice_views.notice_new, name="notice-new"),
    path("notices/<int:notice_id>/", notice_views.notice_page, name="notice-page"),
    path("notices/<int:notice_id>/confirm/", notice_views.notice_confirm, name="notice-confirm"),
    path("notices/<int:notice_id>/receipts/", notice_views.notice_receipts, name="notice-receipts"),
    path("patrols/", patrol_views.patrols, name="patrols"),
    path("", include("gridgov.consoles.urls")),
    path("analytics/", include("gridgov.analytics.urls")),
    path("volunteers/", include("gridgov.volunteers.urls")),
    path("board/", include("gridgov.participation.urls")),
    path("mediation/", include("gridgov.mediation.urls")),
    path("services/", include("gridgov.services.urls")),
    path("migrants/", include("gridgov.migrants.urls")),
    path("insights/", include("gridgov.insights.urls")),
    path("open311/v2/", include("gridgov.open311.urls")),
    path("public/", include(open311_urls.public_urlpatterns)),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
if settings.DEBUG or settings.GRIDGOV_SERVE_MEDIA:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
