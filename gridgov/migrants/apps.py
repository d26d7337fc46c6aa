from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MigrantsConfig(AppConfig):
    name = "gridgov.migrants"
    label = "migrants"
    verbose_name = _("Migrants and rentals")
