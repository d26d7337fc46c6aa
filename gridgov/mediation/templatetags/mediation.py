"""`{% load mediation %}`: whether a user's roles take part in the mediation centre (for the
workbenches' link to /mediation/)."""

from django import template

from gridgov.mediation.intake import takes_part

register = template.Library()


@register.filter
def mediates(user) -> bool:
    return takes_part(user)
