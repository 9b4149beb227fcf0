"""Shapes of the flows API (for the OpenAPI schema); the services validate graphs."""

from __future__ import annotations

from rest_framework import serializers

from bots.models import Flow
from chat.api.serializers import Text


class GraphErrorOut(serializers.Serializer):
    path = serializers.CharField()
    message = serializers.CharField()


class FlowOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    goal = serializers.CharField()
    published_version = serializers.IntegerField(allow_null=True)
    updated_at = serializers.DateTimeField()


class VersionOut(serializers.Serializer):
    number = serializers.IntegerField()
    published_by = serializers.CharField()
    created_at = serializers.DateTimeField()


class VariantOut(serializers.Serializer):
    node = serializers.CharField()
    variant = serializers.CharField()
    shown = serializers.IntegerField()
    converted = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True)


class FlowDetailOut(FlowOut):
    draft = serializers.DictField()
    versions = VersionOut(many=True)
    variants = VariantOut(many=True)


class FlowListOut(serializers.Serializer):
    results = FlowOut(many=True)


class FlowDocument(serializers.Serializer):
    """An exported flow; import takes the same document (bots.services.flow_import checks
    the graph itself: nodes, edges, reachability)."""

    format = serializers.ChoiceField(["parley.flow"])
    format_version = serializers.ChoiceField([1], help_text="1: the only version so far.")
    name = Text(max_length=120, pattern=r"\S")
    slug = Text(
        required=False,
        allow_blank=True,
        max_length=80,
        pattern=r"^[-a-z0-9_]*$",
        help_text="Default: from the name.",
    )
    description = Text(required=False, allow_blank=True)
    goal = serializers.ChoiceField(Flow.Goal.values, required=False)
    graph = serializers.DictField(help_text="The flow graph: see docs/bots.md.")


class ExportQuery(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        help_text="A published version (default: the draft).",
    )


class ImportQuery(serializers.Serializer):
    publish = serializers.BooleanField(required=False, help_text="Also publish it.")


class ImportOut(serializers.Serializer):
    flow = FlowDetailOut()
    created = serializers.BooleanField()


class ValidateRequest(serializers.Serializer):
    graph = serializers.DictField()


class ValidateOut(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = GraphErrorOut(many=True)


class PublishOut(serializers.Serializer):
    flow = serializers.CharField()
    version = serializers.IntegerField()
    changed = serializers.BooleanField(
        help_text="False when the draft equalled the published version: nothing was published."
    )
