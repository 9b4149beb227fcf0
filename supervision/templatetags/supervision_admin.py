"""The admin index's one *Supervision* section (templates/admin/index.html): the
supervisors' pages (floor, reports, status) and the supervision app's models together,
instead of a second module with the same heading above Django's app list."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

APP_LABEL = "supervision"


@register.simple_tag
def split_supervision(app_list: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"app": the supervision app's entry or None, "others": every other app}``."""
    app = next((a for a in app_list if a.get("app_label") == APP_LABEL), None)
    return {"app": app, "others": [a for a in app_list if a.get("app_label") != APP_LABEL]}
