from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "gridgov.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from gridgov.webhooks import events  # noqa: F401  (connects the case log's signal)
