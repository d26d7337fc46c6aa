"""`{% load insights %}`: whether a user reads the early warnings (for the top bar's and the leader's
console's links to /insights/)."""

from django import template

from gridgov.insights.workflow import may_read

register = template.Library()


@register.filter
def reads_warnings(user) -> bool:
    return bool(user and user.is_authenticated and may_read(user))
