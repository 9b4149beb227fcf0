"""``GET /api/v1/me/``: who the credentials are, what they may do and how fast, so an
integrator checks a key (its site, scopes, expiry, limits) before relying on it, and a
widget or console script its session."""

from __future__ import annotations

import math

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from chat.actors import Actor
from chat.api.authentication import actor_for_request
from chat.api.base import ApiView
from chat.api.keys import key_out
from chat.api.shapes import ApiKeyOut
from chat.api.throttles import meter_for
from chat.names import user_name


class MeAgentOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(help_text="As customers see it.")
    email = serializers.CharField()
    is_supervisor = serializers.BooleanField()


class MeCustomerOut(serializers.Serializer):
    id = serializers.IntegerField()
    site = serializers.IntegerField()


class MeLimitOut(serializers.Serializer):
    name = serializers.CharField(help_text="rate, daily_requests or daily_bytes.")
    amount = serializers.IntegerField()
    window = serializers.IntegerField(help_text="Seconds.")
    measure = serializers.ChoiceField(["requests", "bytes"])


class MeOut(serializers.Serializer):
    kind = serializers.ChoiceField(["api_key", "agent", "customer"])
    api_key = ApiKeyOut(allow_null=True)
    agent = MeAgentOut(allow_null=True)
    customer = MeCustomerOut(allow_null=True)
    limits = MeLimitOut(many=True, help_text="What the caller is metered against.")


def _out(actor: Actor) -> dict:
    out = {"kind": "api_key", "api_key": None, "agent": None, "customer": None}
    if actor.kind == "service":
        out["api_key"] = key_out(actor.api_key)
    elif actor.kind == "agent":
        user = actor.user
        out["kind"] = "agent"
        out["agent"] = {
            "id": user.pk,
            "username": user.get_username(),
            "name": user_name(user),
            "email": user.email,
            "is_supervisor": actor.is_supervisor,
        }
    else:
        out["kind"] = "customer"
        out["customer"] = {"id": actor.customer.pk, "site": actor.customer.site_id}
    return out


class MeView(ApiView):
    every_key = True  # any valid key may read itself, whatever it may do elsewhere

    @extend_schema(
        responses={200: MeOut},
        tags=["api keys"],
        summary="The caller: its API key (never the secret), agent or visitor, and limits",
        operation_id="me_retrieve",
    )
    def get(self, request):
        meter = meter_for(request)
        limits = [
            {
                "name": x.name,
                "amount": x.amount,
                "window": math.ceil(x.window),
                "measure": x.measure,
            }
            for x in (meter.limits if meter else ())
        ]
        return Response({**_out(actor_for_request(request)), "limits": limits})
