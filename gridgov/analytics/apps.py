from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "gridgov.analytics"
    verbose_name = _("Assessment and analytics")
