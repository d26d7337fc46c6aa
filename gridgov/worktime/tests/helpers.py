from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

NOTICE_2027 = """\
# 国务院办公厅关于2027年部分节假日安排的通知 (an example, not the real notice)
2027-01-01..2027-01-03 元旦
2027-02-06..2027-02-13 春节
2027-02-14 调休上班 春节
2027-10-01..2027-10-07 国庆节
2027-10-09 workday 国庆节
"""


def at(year, month, day, hour=0, minute=0) -> datetime:
    """A moment in Shanghai local time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def d(text: str) -> date:
    return date.fromisoformat(text)
