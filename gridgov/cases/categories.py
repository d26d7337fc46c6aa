"""The category directories that ship with gridgov, and their default time limits.

- GB/T 47678.5-2026 (in force 2026-07-01): 153 component types and 250 matter types,
  5-digit codes (data/gbt47678_5_2026.json, transcribed in shared/domain/standards.md §3.4).
- Local social-governance classes 11–15 (disputes, public-security and safety hazards,
  residents' requests and consultations) that the seed articles need
  (data/social_governance.json).
No authoritative national table of time limits exists in public sources (standards.md
§4.2), so the limits below are configurable defaults; the admin edits them per category.
"""

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

STANDARD = "GB/T 47678.5-2026"
LOCAL = "gridgov-local"

# (handle limit, unit) per matter class of GB/T 47678.5, and urgent leaves by code.
CLASS_LIMITS = {
    "01": (3, "working_days"), "02": (3, "working_days"), "03": (2, "working_days"),
    "04": (3, "working_days"), "05": (5, "working_days"), "06": (2, "working_days"),
    "07": (2, "working_days"), "08": (3, "working_days"), "09": (1, "working_days"),
    "10": (4, "natural_hours"),
}
URGENT = {
    # missing or broken manhole covers and grates are a danger to life (standards §4.2)
    **{f"010{n:02d}": (2, "natural_hours") for n in range(1, 24) if n != 16},
    "01004": (2, "natural_hours"), "01013": (4, "natural_hours"), "01049": (2, "natural_hours"),
    "01057": (2, "natural_hours"), "01076": (4, "natural_hours"), "06010": (4, "working_hours"),
    "06012": (4, "working_hours"), "06042": (4, "working_hours"), "09012": (4, "working_hours"),
    "10001": (4, "natural_hours"), "10002": (2, "natural_hours"),
}


def _stage_limits(handle: tuple[float, str], urgent: bool) -> dict:
    if urgent:
        return {"register_limit": 15, "register_unit": "minutes", "dispatch_limit": 15,
                "dispatch_unit": "minutes", "handle_limit": handle[0], "handle_unit": handle[1],
                "verify_limit": 1, "verify_unit": "natural_hours"}
    return {"register_limit": 1, "register_unit": "working_hours", "dispatch_limit": 1,
            "dispatch_unit": "working_hours", "handle_limit": handle[0], "handle_unit": handle[1],
            "verify_limit": 1, "verify_unit": "working_days"}


def _upsert(Category, *, standard_ref, kind, code, name, parent, level, local, limits, urgency):
    row, _ = Category.objects.update_or_create(
        standard_ref=standard_ref, kind=kind, code=code,
        defaults={"name": name, "parent": parent, "level": level, "is_local_extension": local,
                  "urgency": urgency, **limits})
    return row


def load_standard(Category) -> int:
    data = json.loads((DATA / "gbt47678_5_2026.json").read_text(encoding="utf-8"))
    count = 0
    for kind, classes, items in (("component", data["component_classes"], data["components"]),
                                 ("matter", data["matter_classes"], data["matters"])):
        parents = {}
        for code, name in classes.items():
            handle = CLASS_LIMITS.get(code, (3, "working_days"))
            parents[code] = _upsert(Category, standard_ref=STANDARD, kind=kind, code=code, name=name,
                                    parent=None, level=1, local=False,
                                    limits=_stage_limits(handle, False), urgency="normal")
        for code, name in items:
            urgent = code in URGENT and kind == "matter"
            handle = URGENT.get(code) if urgent else CLASS_LIMITS.get(code[:2], (3, "working_days"))
            _upsert(Category, standard_ref=STANDARD, kind=kind, code=code, name=name,
                    parent=parents[code[:2]], level=2, local=False,
                    limits=_stage_limits(handle, urgent), urgency="urgent" if urgent else "normal")
            count += 1
    return count


def load_local(Category) -> int:
    data = json.loads((DATA / "social_governance.json").read_text(encoding="utf-8"))
    count = 0
    for cls in data["classes"]:
        handle = tuple(cls["handle"])
        parent = _upsert(Category, standard_ref=LOCAL, kind=cls["kind"], code=cls["code"],
                         name=cls["name"], parent=None, level=1, local=True,
                         limits=_stage_limits(handle, False), urgency="normal")
        for item in cls["items"]:
            code, name, extra = item[0], item[1], (item[2] if len(item) > 2 else {})
            urgent = extra.get("urgency") == "urgent"
            _upsert(Category, standard_ref=LOCAL, kind=cls["kind"], code=code, name=name,
                    parent=parent, level=2, local=True,
                    limits=_stage_limits(tuple(extra.get("handle", handle)), urgent),
                    urgency="urgent" if urgent else "normal")
            count += 1
    return count
