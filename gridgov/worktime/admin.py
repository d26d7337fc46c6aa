from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.roles import Perm, has_perm
from gridgov.worktime import services
from gridgov.worktime.models import CalendarDay, CalendarYear, OfficeHours, Source
from gridgov.worktime.notice import format_notice


def may_manage_calendar(user) -> bool:
    """The calendar is district-wide: system administrators (and superusers) keep it."""
    return user.is_active and user.is_staff and has_perm(user, Perm.MANAGE_CALENDAR)


def may_view(user) -> bool:
    return user.is_active and user.is_staff


class CalendarAdminMixin:
    """Everyone on the staff may read the calendar; only administrators change it."""

    def has_view_permission(self, request, obj=None):
        return may_view(request.user)

    def has_module_permission(self, request):
        return may_view(request.user)

    def has_change_permission(self, request, obj=None):
        return may_manage_calendar(request.user)

    def has_add_permission(self, request):
        return False  # days and years arrive whole, by seeding or by importing a year

    def has_delete_permission(self, request, obj=None):
        return False


class ImportYearForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=services.FIRST_YEAR,
                              max_value=services.LAST_YEAR)
    source = forms.ChoiceField(label=gettext_lazy("Source"), initial=Source.NOTICE,
                               choices=[(Source.NOTICE, Source.NOTICE.label),
                                        (Source.ADMIN, Source.ADMIN.label)])
    text = forms.CharField(
        label=gettext_lazy("Holidays and make-up working days"),
        widget=forms.Textarea(attrs={"rows": 16, "cols": 60, "style": "font-family: monospace"}),
        help_text=gettext_lazy("One entry a line: a date or a range and the holiday's name, e.g. "
                               "“2027-02-06..2027-02-13 春节”; a make-up working day is "
                               "“2027-02-14 调休上班 春节”. # starts a comment."))


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarAdminMixin, admin.ModelAdmin):
    list_display = ("year", "source", "working_days", "loaded_at", "as_text")
    list_filter = ("source",)
    change_list_template = "worktime/admin_year_change_list.html"

    def get_queryset(self, request):
        working = (CalendarDay.objects.filter(date__year=OuterRef("year"), is_workday=True).order_by()
                   .values("is_workday").annotate(n=Count("*")).values("n"))
        return super().get_queryset(request).annotate(
            working_days=Coalesce(Subquery(working, output_field=IntegerField()), 0))

    @admin.display(description=gettext_lazy("working days"), ordering="working_days")
    def working_days(self, obj):
        return obj.working_days

    @admin.display(description=gettext_lazy("as text"))
    def as_text(self, obj):
        url = reverse("admin:worktime_calendaryear_import") + f"?year={obj.year}"
        return format_html('<a href="{}">{}</a>', url, _("Edit as text"))

    def has_change_permission(self, request, obj=None):
        return False  # a year changes by importing it again, which replaces all its days

    def has_delete_permission(self, request, obj=None):
        return may_manage_calendar(request.user)

    def delete_model(self, request, obj):
        services.delete_year(obj.year)

    def delete_queryset(self, request, queryset):
        for year in queryset.values_list("year", flat=True):
            services.delete_year(year)

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view),
                     name="worktime_calendaryear_import")] + super().get_urls()

    def _initial(self, request) -> dict:
        """A year given in the address comes prefilled with what is stored for it."""
        try:
            year = int(request.GET.get("year", ""))
        except ValueError:
            return {"year": services.default_import_year()}
        return {"year": year, "text": format_notice(services.year_as_notice(year))}

    def import_view(self, request):
        if not may_manage_calendar(request.user):
            raise PermissionDenied
        form = ImportYearForm(request.POST or None, initial=self._initial(request))
        plan = None
        if request.method == "POST" and form.is_valid():
            data, dry_run = form.cleaned_data, "_import" not in request.POST
            try:
                plan = services.import_notice_text(data["year"], data["text"], data["source"],
                                                   dry_run=dry_run)
            except ValidationError as exc:
                for field_name, field_messages in exc.message_dict.items():
                    for message in field_messages:
                        form.add_error(field_name if field_name in form.fields else "text", message)
            else:
                if not dry_run:
                    messages.success(request, _("%(year)d imported: %(working)d working days, "
                                                "%(off)d days off.")
                                     % {"year": plan.year, "working": plan.working_days,
                                        "off": plan.days_off})
                    return redirect("admin:worktime_calendaryear_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "plan": plan,
                   "opts": self.model._meta, "title": _("Import a year of the working calendar")}
        return render(request, "worktime/admin_import_year.html", context)


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarAdminMixin, admin.ModelAdmin):
    list_display = ("date", "weekday", "is_workday", "name", "source")
    list_editable = ("is_workday", "name")
    list_filter = ("is_workday", "source")
    date_hierarchy = "date"
    search_fields = ("name",)
    fields = ("date", "is_workday", "name", "source")
    readonly_fields = ("date", "source")
    list_per_page = 62  # two months to a page

    @admin.display(description=gettext_lazy("weekday"))
    def weekday(self, obj):
        return date_format(obj.date, "l")

    def save_model(self, request, obj, form, change):
        """An edited day goes through the service, which marks it as the admin's."""
        saved = services.set_day(obj.date, obj.is_workday, obj.name)
        obj.source = saved.source


class OfficeHoursForm(forms.ModelForm):
    class Meta:
        model = OfficeHours
        fields = ("periods",)


@admin.register(OfficeHours)
class OfficeHoursAdmin(CalendarAdminMixin, admin.ModelAdmin):
    form = OfficeHoursForm
    list_display = ("__str__",)

    def has_add_permission(self, request):
        return may_manage_calendar(request.user) and not OfficeHours.objects.exists()

    def changelist_view(self, request, extra_context=None):
        # One row: go straight to it.
        if OfficeHours.objects.filter(pk=1).exists():
            return redirect("admin:worktime_officehours_change", 1)
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        saved = services.save_office_hours(obj.periods)
        obj.pk = saved.pk
