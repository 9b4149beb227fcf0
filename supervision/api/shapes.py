"""Shapes of the reports API for validation and the OpenAPI schema."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

ID_MAX = 2**63 - 1


class Day(serializers.DateField):
    """A YYYY-MM-DD day, and only that (no control characters for the parser to skip)."""

    def to_internal_value(self, value):
        if isinstance(value, str) and not value.isprintable():
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class ReportQuery(serializers.Serializer):
    site = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, required=False, help_text="Only this site's figures."
    )
    queue = serializers.IntegerField(
        min_value=0,
        max_value=ID_MAX,
        required=False,
        help_text="Only conversations last in this queue (0: none, the bot kept them).",
    )
    agent = serializers.IntegerField(
        min_value=0,
        max_value=ID_MAX,
        required=False,
        help_text="Only conversations last assigned to this agent's user id (0: unassigned).",
    )
    from_ = Day(required=False, help_text="First day (UTC), inclusive; default: to - 6 days.")
    to = Day(required=False, help_text="Last day (UTC), inclusive; default: today.")

    def get_fields(self):
        # "from" is a keyword in Python: declared as from_, named from on the wire.
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class Figures(serializers.Serializer):
    conversations = serializers.IntegerField(help_text="Created in the range.")
    resolved = serializers.IntegerField()
    abandoned = serializers.IntegerField()
    resolution_rate = serializers.FloatField(allow_null=True, help_text="resolved / conversations")
    first_response_avg_s = serializers.FloatField(
        allow_null=True, help_text="From the first queue entry to the first agent message."
    )
    handle_avg_s = serializers.FloatField(
        allow_null=True, help_text="From the (last) assignment to the resolution."
    )
    sla_attainment = serializers.FloatField(
        allow_null=True, help_text="Queue entries answered by their SLA due time."
    )
    sla_count = serializers.IntegerField(
        help_text="The queue entries sla_attainment is over (queued in the range, in this "
        "queue, answered by this agent): not the same set as conversations."
    )
    bot_containment = serializers.FloatField(
        allow_null=True, help_text="Bot sessions that ended without a handoff."
    )
    csat_avg = serializers.FloatField(allow_null=True, help_text="1-5")
    csat_count = serializers.IntegerField()


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "format": "date"}]})
class ReportKey(serializers.Field):
    """A row's key as the report gives it: an id (0 for "no queue"), or a day."""

    def to_representation(self, value):
        return value


class ReportRow(Figures):
    key = ReportKey(
        help_text="The queue's or agent's id (an integer; 0: no queue), or the day (YYYY-MM-DD)."
    )
    name = serializers.CharField()


class ReportOut(serializers.Serializer):
    group = serializers.ChoiceField(["queue", "agent", "day"])
    from_ = serializers.DateField()
    to = serializers.DateField()
    site = serializers.IntegerField(allow_null=True)
    queue = serializers.IntegerField(allow_null=True)
    agent = serializers.IntegerField(allow_null=True)
    totals = Figures()
    rows = ReportRow(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields
