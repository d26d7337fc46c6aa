"""`{% load migrants %}`: whether a user keeps a dormitory or speaks for an employer (for the top
bar's links to /migrants/dormitories/ and /migrants/employer/)."""

from django import template

from gridgov.accounts.models import Role
from gridgov.accounts.roles import roles_of

register = template.Library()


@register.filter
def keeps_dormitory(user) -> bool:
    return user.is_authenticated and Role.DORM_MANAGER in roles_of(user)


@register.filter
def is_employer(user) -> bool:
    return user.is_authenticated and Role.EMPLOYER in roles_of(user)
