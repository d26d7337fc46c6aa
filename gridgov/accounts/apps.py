from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "gridgov.accounts"
    verbose_name = _("People and departments")

    def ready(self):
        from gridgov.accounts import lockout  # noqa: F401  (connects the failed-login signals)
