from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class WorktimeConfig(AppConfig):
    name = "gridgov.worktime"
    verbose_name = _("Working calendar")

    def ready(self):
        from gridgov.worktime.services import warn_if_uncovered

        # Tagged "database" as Django asks of checks that query: they run with
        # `check --database default` and before `migrate`, not on every command.
        checks.register(warn_if_uncovered, checks.Tags.database)
