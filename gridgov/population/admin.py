"""Registry in the back office: scoped lists, masked personal data, writes through the services.

ID numbers and phones are never shown in full here: lists and forms show them masked, and
a new value can be typed (write-only) but not read back. Revealing goes through the API's
audited reveal action.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.roles import Perm, has_perm, scope_through
from gridgov.core.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from gridgov.population import care, services
from gridgov.population.models import (
    Building,
    BuildingSurvey,
    CareNote,
    CareReminder,
    CareService,
    CareTask,
    CaseConcern,
    Compound,
    House,
    Household,
    Organization,
    Person,
    PersonTag,
    SurveyItem,
    TagType,
    Unit,
    Visit,
    VisitRule,
)
from gridgov.privacy.masking import validate_phone


class RegistryAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Viewing follows the registry scope; changing needs the edit permission."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return has_perm(request.user, Perm.EDIT_REGISTRY)

    def has_change_permission(self, request, obj=None):
        return has_perm(request.user, Perm.EDIT_REGISTRY, getattr(obj, "grid", None))

    def has_delete_permission(self, request, obj=None):
        return has_perm(request.user, Perm.EDIT_REGISTRY, getattr(obj, "grid", None))


class SettingsAdmin(admin.ModelAdmin):
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return has_perm(request.user, Perm.MANAGE_REGISTRY_SETTINGS)

    def has_change_permission(self, request, obj=None):
        return has_perm(request.user, Perm.MANAGE_REGISTRY_SETTINGS)

    def has_delete_permission(self, request, obj=None):
        return has_perm(request.user, Perm.MANAGE_REGISTRY_SETTINGS)


@admin.register(Compound)
class CompoundAdmin(RegistryAdmin):
    list_display = ("name", "grid", "address", "property_company")
    search_fields = ("name", "address")
    autocomplete_fields = ("grid",)
    list_select_related = ("grid",)


class UnitInline(admin.TabularInline):
    model = Unit
    fields = ("number",)
    extra = 0


class BuildingForm(forms.ModelForm):
    class Meta:
        model = Building
        fields = ("compound", "grid", "name", "address", "lat", "lon", "floors", "use")

    def clean(self):
        cleaned = super().clean()
        lat, lon = cleaned.get("lat"), cleaned.get("lon")
        if lat is not None and lon is not None:
            try:
                cleaned["grid"], _lat, _lon = services.locate_grid(lat, lon)
                self.instance.grid = cleaned["grid"]
            except ValidationError as exc:
                self.add_error("lat", exc.messages[0])
        return cleaned


@admin.register(Building)
class BuildingAdmin(RegistryAdmin):
    form = BuildingForm
    list_display = ("__str__", "grid", "address", "floors", "use")
    list_filter = ("use",)
    search_fields = ("name", "address", "compound__name", "grid__code")
    autocomplete_fields = ("grid", "compound")
    list_select_related = ("grid", "compound")
    inlines = [UnitInline]

    def save_model(self, request, obj, form, change):
        services.save_building(request.user, obj, lat=obj.lat, lon=obj.lon)

    def save_formset(self, request, form, formset, change):
        for unit in formset.save(commit=False):
            unit.grid_id = form.instance.grid_id
            unit.save()
        for unit in formset.deleted_objects:
            unit.delete()


class HouseForm(forms.ModelForm):
    new_landlord_phone = forms.CharField(
        label=_("landlord's phone"),
        required=False,
        validators=[validate_phone],
        help_text=_("Type to set or change; never shown in full."),
    )

    class Meta:
        model = House
        fields = ("building", "unit", "floor", "number", "area_m2", "use", "landlord_name", "lease_start",
                  "lease_end")


@admin.register(House)
class HouseAdmin(RegistryAdmin):
    form = HouseForm
    list_display = ("__str__", "grid", "floor", "use", "landlord_name", "lease_end")
    list_filter = ("use",)
    search_fields = ("number", "building__name", "building__address")
    autocomplete_fields = ("building",)
    list_select_related = ("grid", "building__compound", "unit")

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("new_landlord_phone"):
            obj.landlord_phone = form.cleaned_data["new_landlord_phone"]
        services.save_house(request.user, obj)


@admin.register(Household)
class HouseholdAdmin(RegistryAdmin):
    list_display = ("__str__", "grid", "kind", "last_visited_on", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("head_name", "number", "house__building__name", "house__building__address")
    autocomplete_fields = ("house",)
    exclude = ("grid",)
    readonly_fields = ("last_visited_on",)
    list_select_related = ("grid", "house__building__compound", "house__unit")

    def save_model(self, request, obj, form, change):
        services.save_household(request.user, obj)


class PersonForm(forms.ModelForm):
    new_id_number = forms.CharField(
        label=_("ID number"),
        required=False,
        max_length=20,
        help_text=_("Type to set or change; never shown in full."),
    )
    new_phone = forms.CharField(
        label=_("mobile phone"),
        required=False,
        max_length=20,
        help_text=_("Type to set or change; never shown in full."),
    )

    class Meta:
        model = Person
        fields = ("household", "name", "ethnicity", "relation", "political_status", "education",
                  "marital_status", "registered_address", "is_migrant", "arrived_on", "permit_state",
                  "employer", "employer_name", "dormitory_bed", "is_active")

    def _post_clean(self):
        """After the form has filled the instance: the registry's own rules, as form errors."""
        super()._post_clean()
        person = self.instance
        if self.cleaned_data.get("new_id_number"):
            person.id_number = self.cleaned_data["new_id_number"]
        if self.cleaned_data.get("new_phone"):
            person.phone = self.cleaned_data["new_phone"]
        for field, message in services.person_errors(person).items():
            target = {"id_number": "new_id_number", "phone": "new_phone"}.get(field, field)
            self.add_error(target if target in self.fields else None, message)


class PersonTagInline(admin.TabularInline):
    model = PersonTag
    fields = ("tag_type", "care_level", "grade", "note", "since")
    extra = 0

    def get_queryset(self, request):
        visible = services.visible_tag_types(request.user)
        return super().get_queryset(request).filter(tag_type__in=visible)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tag_type":
            kwargs["queryset"] = TagType.objects.filter(
                pk__in=[t.pk for t in services.visible_tag_types(request.user)]
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Person)
class PersonAdmin(RegistryAdmin):
    form = PersonForm
    list_display = ("name", "masked_id_number", "masked_phone", "sex", "birth_date", "grid", "is_migrant")
    list_filter = ("is_migrant", "sex", "permit_state", "is_active")
    search_fields = ("name",)
    autocomplete_fields = ("household", "employer")
    readonly_fields = ("masked_id_number", "masked_phone", "birth_date", "sex")
    list_select_related = ("grid",)
    inlines = [PersonTagInline]

    @admin.display(description=_("ID number"))
    def masked_id_number(self, obj):
        return obj.id_number_masked

    @admin.display(description=_("mobile phone"))
    def masked_phone(self, obj):
        return obj.phone_masked

    def get_search_results(self, request, queryset, search_term):
        """Names by text; a full ID number or phone by its keyed hash (never by plaintext)."""
        if not search_term:
            return queryset, False
        found = services.search_people(request.user, search_term)
        return queryset.filter(pk__in=found.values("pk")), False

    def save_model(self, request, obj, form, change):
        services.save_person(request.user, obj)

    def save_formset(self, request, form, formset, change):
        for tag in formset.save(commit=False):
            tag.grid_id = form.instance.grid_id
            tag.save()
        for tag in formset.deleted_objects:
            tag.delete()


class OrganizationForm(forms.ModelForm):
    new_contact_phone = forms.CharField(
        label=_("contact phone"),
        required=False,
        validators=[validate_phone],
        help_text=_("Type to set or change; never shown in full."),
    )

    class Meta:
        model = Organization
        fields = ("name", "kind", "credit_code", "building", "address", "lat", "lon", "contact_name",
                  "employee_count")

    def clean(self):
        cleaned = super().clean()
        lat, lon = cleaned.get("lat"), cleaned.get("lon")
        if not cleaned.get("building") and not self.instance.grid_id and (lat is None or lon is None):
            self.add_error("building", _("Give the building, a point on the map or the grid."))
        elif lat is not None and lon is not None and not cleaned.get("building"):
            try:
                services.locate_grid(lat, lon)
            except ValidationError as exc:
                self.add_error("lat", exc.messages[0])
        return cleaned


@admin.register(Organization)
class OrganizationAdmin(RegistryAdmin):
    form = OrganizationForm
    list_display = ("name", "kind", "credit_code", "grid", "contact_name", "employee_count")
    list_filter = ("kind",)
    search_fields = ("name", "credit_code", "address")
    autocomplete_fields = ("building",)
    list_select_related = ("grid",)

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("new_contact_phone"):
            obj.contact_phone = form.cleaned_data["new_contact_phone"]
        grid_code = obj.grid.code if obj.grid_id else ""
        services.save_organization(request.user, obj, lat=obj.lat, lon=obj.lon, grid_code=grid_code)


@admin.register(Visit)
class VisitAdmin(RegistryAdmin):
    list_display = ("visited_on", "household", "worker", "met", "case")
    date_hierarchy = "visited_on"
    search_fields = ("notes", "needs", "household__head_name")
    list_select_related = ("worker", "household__house__building__compound", "household__house__unit", "case")
    readonly_fields = ("household", "grid", "worker", "case", "client_key")

    def has_add_permission(self, request):
        return False  # visits are recorded by workers (page or API), with their client key


@admin.register(TagType)
class TagTypeAdmin(SettingsAdmin):
    list_display = ("name", "code", "is_sensitive", "has_grade", "standard_ref", "sort", "is_active")
    list_editable = ("sort", "is_active")


@admin.register(VisitRule)
class VisitRuleAdmin(SettingsAdmin):
    list_display = ("__str__", "tag_type", "care_level", "interval_days")


@admin.register(BuildingSurvey)
class BuildingSurveyAdmin(RegistryAdmin):
    list_display = ("building", "confirmed_by", "confirmed_at")
    list_select_related = ("building__compound", "confirmed_by")
    readonly_fields = ("building", "grid", "figures", "confirmed_by", "note")

    def has_add_permission(self, request):
        return False


@admin.register(SurveyItem)
class SurveyItemAdmin(RegistryAdmin):
    list_display = ("text", "kind", "building", "reported_by", "reported_at", "case")
    list_filter = ("kind",)
    list_select_related = ("building__compound", "reported_by", "case")
    readonly_fields = ("building", "grid", "reported_by", "case")

    def has_add_permission(self, request):
        return False


# --- care files (一人一档) ------------------------------------------------------------------------


class CareAdmin(RegistryAdmin):
    """Care-file rows are written from the file (page or API, through `care`); the back office lists
    them in scope, lets those who may write in the file correct a text or delete a mistake, and
    hides the rows of people whose only tags the user may not see (as the file itself does)."""

    list_select_related = ("person", "grid")

    def get_queryset(self, request):
        visible = services.visible_tag_types(request.user)
        return super().get_queryset(request).filter(person__tags__tag_type__in=visible).distinct()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is None:
            scope = scope_through(request.user, care.CARE_ROLES)
            return scope.everything or bool(scope.roots)
        return care.may_write(request.user, obj.person)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        obj.grid_id = obj.person.grid_id  # the person's grid, whatever the form held
        super().save_model(request, obj, form, change)


@admin.register(CareNote)
class CareNoteAdmin(CareAdmin):
    list_display = ("person", "text", "author", "at")
    search_fields = ("person__name", "text")
    readonly_fields = ("person", "grid", "author", "at")
    list_select_related = ("person", "grid", "author")


@admin.register(CareTask)
class CareTaskAdmin(CareAdmin):
    list_display = ("title", "person", "due_on", "assignee", "done_at")
    list_filter = ("done_at",)
    date_hierarchy = "due_on"
    search_fields = ("person__name", "title")
    readonly_fields = ("person", "grid", "assignee", "created_by", "done_at", "done_by")
    list_select_related = ("person", "grid", "assignee")


@admin.register(CareService)
class CareServiceAdmin(CareAdmin):
    list_display = ("person", "kind", "served_on", "provider", "recorded_by")
    list_filter = ("kind",)
    date_hierarchy = "served_on"
    search_fields = ("person__name", "provider", "note")
    readonly_fields = ("person", "grid", "recorded_by")
    list_select_related = ("person", "grid", "recorded_by")


@admin.register(CaseConcern)
class CaseConcernAdmin(CareAdmin):
    list_display = ("person", "case", "added_by", "at")
    readonly_fields = ("person", "case", "grid", "added_by", "at")
    list_select_related = ("person", "grid", "case__category", "added_by")


@admin.register(CareReminder)
class CareReminderAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """What the daily reminder job sent (written by `care.send_reminders` only)."""

    list_display = ("sent_at", "user", "person", "kind", "due_on")
    list_filter = ("kind",)
    list_select_related = ("user", "person")

    def get_queryset(self, request):
        visible = services.visible_tag_types(request.user)
        return super().get_queryset(request).filter(person__tags__tag_type__in=visible).distinct()

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff
