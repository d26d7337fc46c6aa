"""The one way the migrants' API and pages find a row by id: inside the user's scope or a 404 that
does not tell whether the row exists elsewhere."""

from django.http import Http404
from django.utils.translation import gettext as _

from gridgov.core.text import to_int
from gridgov.population.models import Person


def visible(queryset, user, pk, message: str):
    found = queryset.visible_to(user).filter(pk=to_int(pk) or 0).first()
    if found is None:
        raise Http404(message)
    return found


def person(user, pk) -> Person:
    """A registry person the user keeps (the registry rule)."""
    return visible(Person.objects.select_related("grid"), user, pk, _("No such person in your area."))
