from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsolesConfig(AppConfig):
    name = "gridgov.consoles"
    label = "consoles"
    verbose_name = _("Workbenches")
