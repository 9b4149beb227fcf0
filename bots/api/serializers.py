"""Shapes of the flows API (for the OpenAPI schema); the services validate graphs."""

from __future__ import annotations

from rest_framework import serializers

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
    """An exported flow; import takes the same document."""

    format = Text(default="parley.flow")
    format_version = serializers.IntegerField(default=1)
    name = Text()
    slug = Text()
    description = Text(required=False, allow_blank=True)
    goal = Text(required=False)
    graph = serializers.DictField()


class ImportOut(serializers.Serializer):
    flow = FlowDetailOut()
    created = serializers.BooleanField()


class ValidateRequest(serializers.Serializer):
    graph = serializers.JSONField()


class ValidateOut(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = GraphErrorOut(many=True)


class PublishOut(serializers.Serializer):
    flow = serializers.CharField()
    version = serializers.IntegerField()
