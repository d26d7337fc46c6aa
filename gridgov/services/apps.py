from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicesConfig(AppConfig):
    name = "gridgov.services"
    label = "services"
    verbose_name = _("Services near people")

    def ready(self):
        from gridgov.services import points  # noqa: F401  (connects the index's change signals)
