"""The automation rules API: an integrator lists, reads, creates, changes, pauses, enables
and deletes its site's rules. API keys need ``rules:read`` / ``rules:write`` (checked by
ApiView's scope permission) and see only their site's rules (a key of all sites names the
site on create); staff sessions need the model permissions. Validation is the admin form's
(integrations.services.rules). Views parse, call one service, render."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from chat.actors import Actor
from chat.api.base import ApiView, Cursor, body_fields
from chat.api.conversations import query
from chat.api.serializers import ErrorOut
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Site
from integrations.api import rule_shapes as s
from integrations.models import Rule
from integrations.services.rules import rule_delete, rule_error, rule_save, rule_set_enabled

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut}
ORDERINGS = {"position": ("position", "id"), "id": ("id",), "-id": ("-id",)}


def _site_limit(request, write: bool) -> int | None:
    """The site the caller is limited to (None: all), or PermissionDenied. A key's scope was
    checked by HasScope; a visitor or an agent without the permission may not."""
    if isinstance(request.auth, Actor):
        if request.auth.kind != "service":
            raise PermissionDenied("Rules are managed with an API key or by staff.")
        return request.auth.api_key.site_id
    user = request.user
    perm = "integrations.change_rule" if write else "integrations.view_rule"
    if user.is_authenticated and user.is_staff and user.has_perm(perm):
        return None
    raise PermissionDenied("Rules are managed with an API key or by staff.")


def _rules(request, write: bool):
    site_id = _site_limit(request, write)
    qs = Rule.objects.all()
    return qs if site_id is None else qs.filter(site_id=site_id)


def _rule(request, pk: int, write: bool) -> Rule:
    rule = _rules(request, write).filter(pk=pk).first()
    if rule is None:
        raise NotFound("No such rule.")
    return rule


def _body(request) -> dict[str, Any]:
    return dict(body_fields(request))


class RuleApiView(ApiView):
    """A rule's fields are named in one style, ``conditions[0].value``, in every error: the
    JSON checks of the parser (an integer past 64 bits, an unstorable character) name them
    ``conditions.0.value``, as every other endpoint's fields."""

    scope_resource = "rules"

    def handle_exception(self, exc):
        if isinstance(exc, ValidationError):
            exc = rule_error(exc)
        return super().handle_exception(exc)


def rule_out(r: Rule) -> dict[str, Any]:
    return {
        "id": r.pk, "site": r.site_id, "name": r.name, "event": r.event,
        "conditions": r.conditions, "actions": r.actions, "enabled": r.enabled,
        "position": r.position, "paused_until": r.paused_until,
        "limited_reason": r.limited_reason, "owner_email": r.owner_email, "rate": r.rate,
        "daily_requests": r.daily_requests, "time_budget": r.time_budget, "runs": r.runs,
        "fired": r.fired,
        "created_at": r.created_at, "updated_at": r.updated_at,
    }  # fmt: skip


class RuleListView(RuleApiView):
    @extend_schema(
        parameters=[s.RuleFilter],
        responses={200: s.RuleListOut, **ERRORS},
        tags=["rules"],
        summary="List automation rules, in run order by default",
        operation_id="rules_list",
    )
    def get(self, request):
        qs = _rules(request, write=False)
        filters = query(s.RuleFilter, request)
        for name in ("site", "event", "enabled"):
            if name in filters:
                qs = qs.filter(**{f"{name}_id" if name == "site" else name: filters[name]})
        cursor = Cursor(ORDERINGS, "position")
        return Response(cursor.envelope([rule_out(r) for r in cursor.page(qs, request, self)]))

    @extend_schema(
        request=s.RuleIn,
        responses={201: s.RuleOut, **ERRORS},
        tags=["rules"],
        summary="Create a rule (validated as in admin)",
        operation_id="rules_create",
    )
    def post(self, request):
        limited_to = _site_limit(request, write=True)
        values = _body(request)
        if "site" not in values and limited_to is None:
            raise ValidationError("site is required.", field="site")
        site_id = values.pop("site", limited_to)
        if isinstance(site_id, bool) or not isinstance(site_id, int):
            raise ValidationError("site must be a site's id.", field="site")
        if limited_to is not None and site_id != limited_to:
            raise PermissionDenied("This API key is limited to another site.")
        site = Site.objects.filter(pk=site_id).first() if 0 < site_id < 2**63 else None
        if site is None:  # a field of the body, as on POST /api-keys/: bad input
            raise ValidationError("No such site.", field="site")
        rule = rule_save(site=site, **values)
        return Response(rule_out(rule), status=status.HTTP_201_CREATED)


class RuleDetailView(RuleApiView):
    @extend_schema(responses={200: s.RuleOut, **ERRORS}, tags=["rules"],
                   summary="Get a rule", operation_id="rules_get")  # fmt: skip
    def get(self, request, rule_id: int):
        return Response(rule_out(_rule(request, rule_id, write=False)))

    @extend_schema(request=s.RulePatch, responses={200: s.RuleOut, **ERRORS}, tags=["rules"],
                   summary="Change a rule (validated as in admin)",
                   operation_id="rules_update")  # fmt: skip
    def patch(self, request, rule_id: int):
        rule = _rule(request, rule_id, write=True)
        values = _body(request)
        if "site" in values:
            raise ValidationError("A rule cannot move to another site.", field="site")
        return Response(rule_out(rule_save(rule=rule, **values)))

    @extend_schema(responses={204: None, **ERRORS}, tags=["rules"],
                   summary="Delete a rule", operation_id="rules_delete")  # fmt: skip
    def delete(self, request, rule_id: int):
        rule_delete(rule=_rule(request, rule_id, write=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RulePauseView(RuleApiView):
    @extend_schema(request=None, responses={200: s.RuleOut, **ERRORS}, tags=["rules"],
                   summary="Pause a rule (enabled false; idempotent)",
                   operation_id="rules_pause")  # fmt: skip
    def post(self, request, rule_id: int):
        rule = rule_set_enabled(rule=_rule(request, rule_id, write=True), enabled=False)
        return Response(rule_out(rule))


class RuleEnableView(RuleApiView):
    @extend_schema(request=None, responses={200: s.RuleOut, **ERRORS}, tags=["rules"],
                   summary="Enable a rule, lifting a quota pause (idempotent)",
                   operation_id="rules_enable")  # fmt: skip
    def post(self, request, rule_id: int):
        rule = rule_set_enabled(rule=_rule(request, rule_id, write=True), enabled=True)
        return Response(rule_out(rule))
