"""Reads for flows, with the permission check in the same function."""

from __future__ import annotations

from django.db.models import QuerySet

from bots.models import Flow
from chat.actors import Actor
from chat.exceptions import NotFound, PermissionDenied


def flow_access_check(*, actor: Actor, write: bool) -> None:
    """Flows are managed by agents holding the bots permissions (admins and supervisors)
    and by API keys that are not limited to one site (flows are shared by sites)."""
    if actor.kind == "agent":
        perm = "bots.change_flow" if write else "bots.view_flow"
        if actor.user.is_superuser or actor.user.has_perm(perm):
            return
        raise PermissionDenied(f"Managing flows needs the {perm} permission.")
    if actor.kind == "service" and actor.api_key.site_id is None:
        return
    if actor.kind == "service":
        raise PermissionDenied("An API key limited to one site cannot manage flows.")
    raise PermissionDenied("Customers cannot manage flows.")


def flow_list_for_actor(*, actor: Actor) -> QuerySet[Flow]:
    flow_access_check(actor=actor, write=False)
    return Flow.objects.select_related("published_version").order_by("name")


def flow_get_for_actor(*, actor: Actor, slug: str, write: bool = False) -> Flow:
    flow_access_check(actor=actor, write=write)
    try:
        return Flow.objects.select_related("published_version").get(slug=slug)
    except Flow.DoesNotExist as exc:
        raise NotFound(f"No flow {slug!r}.") from exc
