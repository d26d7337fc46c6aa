import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.admin import AssignmentFormSet
from gridgov.accounts.models import Assignment
from gridgov.accounts.roles import Perm, has_perm
from gridgov.core.admin import ScopedAdminMixin
from gridgov.grids import importer
from gridgov.grids.models import Grid
from gridgov.grids.services import GridSpec, check_grid, save_grid


class AssignmentInline(admin.TabularInline):
    model = Assignment
    formset = AssignmentFormSet  # one active grid leader per grid, shown on the row
    fields = ("user", "role", "post", "is_full_time", "is_active", "since")
    autocomplete_fields = ("user",)
    extra = 0


class GridForm(forms.ModelForm):
    """The grid service's checks run in clean(), so a refusal is shown on the form."""

    class Meta:
        model = Grid
        fields = ("code", "name", "kind", "special_type", "households_estimate",
                  "management_grade", "boundary", "metadata")

    def spec(self) -> GridSpec:
        data = self.cleaned_data
        return GridSpec(
            code=self.instance.code if self.instance.pk else data.get("code", ""),
            name=data.get("name", ""), boundary=data.get("boundary"), kind=data.get("kind", ""),
            special_type=data.get("special_type") or "",
            households_estimate=data.get("households_estimate") or 0,
            management_grade=data.get("management_grade") or "", metadata=data.get("metadata") or {})

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                check_grid(self.spec())
            except ValidationError as exc:
                for field_name, messages in exc.message_dict.items():
                    target = field_name if field_name in self.fields else None
                    for message in messages:
                        self.add_error(target, message)
        return cleaned


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("GeoJSON FeatureCollection"))
    dry_run = forms.BooleanField(label=gettext_lazy("Check only, write nothing"), required=False)


@admin.register(Grid)
class GridAdmin(ScopedAdminMixin, admin.ModelAdmin):
    form = GridForm
    list_display = ("code", "name", "level", "kind", "households_estimate", "management_grade")
    list_filter = ("level", "kind", "management_grade")
    search_fields = ("code", "name")
    inlines = [AssignmentInline]
    change_list_template = "grids/admin_change_list.html"
    actions = ["export_geojson"]

    def has_add_permission(self, request):
        return has_perm(request.user, Perm.MANAGE_GRIDS)

    def has_change_permission(self, request, obj=None):
        return has_perm(request.user, Perm.MANAGE_GRIDS)

    def has_delete_permission(self, request, obj=None):
        return False  # grids are retired by import or the service, never cascaded away

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def get_readonly_fields(self, request, obj=None):
        # A code is the grid's path in the tree: recoding is a re-import, not an edit.
        return ("code", "level", "parent") if obj else ()

    def save_model(self, request, obj, form, change):
        """Saves go through the grid service, which checks codes and geometry."""
        saved = save_grid(form.spec())
        obj.pk = saved.pk

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view),
                     name="grids_grid_import")] + super().get_urls()

    def import_view(self, request):
        if not has_perm(request.user, Perm.MANAGE_GRIDS):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            try:
                collection = json.load(form.cleaned_data["file"])
            except (ValueError, UnicodeDecodeError):
                form.add_error("file", _("The file is not valid JSON."))
            else:
                report = importer.import_feature_collection(
                    collection, dry_run=form.cleaned_data["dry_run"])
                if report.ok and not report.dry_run:
                    messages.success(request, _("%(created)d grids created, %(updated)d updated.")
                                     % {"created": report.created, "updated": report.updated})
                    return redirect("admin:grids_grid_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "report": report,
                   "opts": self.model._meta, "title": _("Import grids")}
        return render(request, "grids/admin_import.html", context)

    @admin.action(description=gettext_lazy("Export the selected grids' subtrees as GeoJSON"))
    def export_geojson(self, request, queryset):
        codes = list(queryset.values_list("code", flat=True))
        grids = Grid.objects.visible_to(request.user).none()
        for code in codes:
            grids = grids | Grid.objects.visible_to(request.user).subtree(code)
        response = HttpResponse(json.dumps(importer.export_feature_collection(grids.distinct()),
                                           ensure_ascii=False),
                                content_type="application/geo+json")
        response["Content-Disposition"] = 'attachment; filename="grids.geojson"'
        return response
