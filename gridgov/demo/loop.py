"""The demo's steps around the loop: leaders' instructions, copies, joint handling, call-backs
and reopened cases, made through the workflow service by the people whose job they are, so the
demo shows every part of the case page and the workbenches with real data."""

import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from gridgov.accounts.models import Department
from gridgov.cases import notify, workflow
from gridgov.cases.models import Case

S = Case.State
INSTRUCTIONS = ["群众反映多次，请尽快处理并报结果", "请主要领导亲自过问，三日内办结",
                "注意做好解释工作，防止矛盾激化", "请会同相关部门现场查看，拿出整改方案"]
ANSWERS = ["已安排专人现场处理，今日内反馈", "已会同社区现场查看，正在整改", "已落实，按期办结"]
ASSIST_TASKS = ["维持现场秩序，配合处置", "提供相关资料和产权信息", "派员到场协助清理"]
CALL_BACKS = [("satisfied", 80), ("basically", 12), ("unsatisfied", 5), ("unreachable", 3)]


def _first(user_ids) -> object | None:
    return get_user_model().objects.filter(pk__in=user_ids, is_active=True).order_by("pk").first()


def _leader_of(case):
    return _first(notify.leaders_of(case))


def _open(states, limit, rng):
    rows = list(Case.objects.filter(state__in=states).exclude(department=None)
                .order_by("-reported_at").values_list("pk", flat=True)[: limit * 4])
    rng.shuffle(rows)
    return rows[:limit]


def build_loop_parts(seed: int = 2026, scale: int = 1) -> dict[str, int]:
    rng = random.Random(seed)
    counts = {"instructions": 0, "answers": 0, "copies": 0, "assists": 0, "call_backs": 0, "reopened": 0}
    departments = list(Department.objects.filter(is_active=True).order_by("pk"))
    for pk in _open((S.DISPATCHED, S.ACCEPTED), 30 * scale, rng):
        case = Case.objects.select_related("grid").get(pk=pk)
        leader = _leader_of(case)
        if leader is None:
            continue
        workflow.act(pk, leader, "instruct", workflow.Params(note=rng.choice(INSTRUCTIONS)))
        counts["instructions"] += 1
        handler = _first(notify.handlers_of(case))
        if handler and rng.random() < 0.5:
            workflow.act(pk, handler, "answer_instruction", workflow.Params(note=rng.choice(ANSWERS)))
            counts["answers"] += 1
    for pk in _open((S.DISPATCHED, S.ACCEPTED), 20 * scale, rng):
        case = Case.objects.select_related("grid", "owner_grid").get(pk=pk)
        dispatcher = _first(notify.dispatchers_of(case))
        others = [d for d in departments if d.pk != case.department_id]
        if dispatcher is None or not others:
            continue
        copy_to = rng.choice(others)
        workflow.act(pk, dispatcher, "copy", workflow.Params(department_ids=[copy_to.pk]))
        counts["copies"] += 1
        if rng.random() < 0.5:
            helper = rng.choice([d for d in others if d.pk != copy_to.pk] or others)
            if not Case.objects.get(pk=pk).assist_tasks.filter(department=helper).exists():
                workflow.act(pk, dispatcher, "assign_assist",
                             workflow.Params(department_id=helper.pk, note=rng.choice(ASSIST_TASKS)))
                counts["assists"] += 1
    _call_backs(rng, counts, 300 * scale)
    return counts


def _call_backs(rng, counts, limit) -> None:
    """The command centre calls back recently closed cases; some unsatisfied ones are reopened."""
    since = timezone.now() - timedelta(days=settings.GRIDGOV_REOPEN_WINDOW_DAYS)
    closed = list(Case.objects.filter(state=S.CLOSED, closed_at__gte=since).exclude(department=None)
                  .exclude(channel=Case.Channel.SELF_RESOLVED).order_by("-closed_at")
                  .values_list("pk", flat=True)[:limit])
    results, weights = zip(*CALL_BACKS, strict=True)
    for pk in closed:
        case = Case.objects.select_related("owner_grid").get(pk=pk)
        dispatcher = _first(notify.dispatchers_of(case))
        if dispatcher is None:
            continue
        result = rng.choices(results, weights)[0]
        workflow.act(pk, dispatcher, "call_back", workflow.Params(callback=result))
        counts["call_backs"] += 1
        if result == "unsatisfied" and rng.random() < 0.6:
            workflow.act(pk, dispatcher, "reopen", workflow.Params(note="回访不满意，重新办理"))
            counts["reopened"] += 1
