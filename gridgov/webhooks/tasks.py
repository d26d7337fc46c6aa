"""Background jobs of the webhooks (huey)."""

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.exceptions import TaskLockedException

from gridgov.webhooks import delivery


def send_in_order(subscription_id: int) -> int:
    """One sender per subscription at a time (a case's events keep their order); a second one
    leaves the work to the first, or to the next minute."""
    try:
        with HUEY.lock_task(f"webhooks-send-{subscription_id}"):
            return delivery.send(subscription_id)
    except TaskLockedException:
        return 0


@db_task()
def send(subscription_id: int) -> int:
    """Right after a change commits: what is due for the subscription."""
    return send_in_order(subscription_id)


# Every minute: the retries that came due, and anything a stopped consumer left behind.
@db_periodic_task(crontab(minute="*"))
def send_due() -> int:
    return sum(send_in_order(pk) for pk in delivery.due_subscriptions())
