"""The supervision reports over REST: what supervisors see on the reports page (volumes,
first response and handle times, resolution, SLA, bot containment, CSAT), per queue, agent
or day, filtered by site, queue, agent and days. API keys need ``reports:read`` and see only
their own site's figures; sessions must be supervisors. Reads the daily rollups
(supervision.rollups), never the live tables."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from chat.api.authentication import actor_for_request
from chat.api.base import ApiView
from chat.api.conversations import query
from chat.api.serializers import ErrorOut
from chat.exceptions import PermissionDenied
from supervision import selectors
from supervision.api import shapes

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut}
DESCRIPTION = (
    "Figures of conversations created in the range (UTC days, both inclusive), from the "
    "daily rollups that Celery beat keeps (`REPORTS_ROLLUP_INTERVAL`): today's figures lag "
    "by up to that interval. `totals` covers every row. An API key limited to a site sees "
    "only that site."
)


def _site_for(request, asked: int | None) -> int | None:
    actor = actor_for_request(request)
    if actor.kind == "service":
        limited_to = actor.api_key.site_id
        if limited_to is not None and asked not in (None, limited_to):
            raise PermissionDenied("This API key is limited to another site.")
        return limited_to if limited_to is not None else asked
    if not actor.is_supervisor:
        raise PermissionDenied("Only supervisors and API keys read reports.")
    return asked


class _ReportView(ApiView):
    scope_resource = "reports"
    group: selectors.Group = "queue"

    def get(self, request):
        params = query(shapes.ReportQuery, request)
        site_id = _site_for(request, params.get("site"))
        first, last = selectors.report_range(first=params.get("from"), last=params.get("to"))
        narrow: dict[str, Any] = {
            "site_id": site_id,
            "queue_id": params.get("queue"),
            "agent_id": params.get("agent"),
        }
        return Response(
            {
                "group": self.group,
                "from": first,
                "to": last,
                "site": site_id,
                "queue": narrow["queue_id"],
                "agent": narrow["agent_id"],
                "totals": selectors.report_totals(first=first, last=last, **narrow),
                "rows": selectors.report_rows(group=self.group, first=first, last=last, **narrow),
            }
        )


def _schema(group: str, summary: str):
    return extend_schema(
        parameters=[shapes.ReportQuery],
        responses={200: shapes.ReportOut, **ERRORS},
        tags=["reports"],
        summary=summary,
        description=DESCRIPTION,
        operation_id=f"reports_{group}",
    )


class QueueReportView(_ReportView):
    group = "queue"

    @_schema("queues", "Per queue: volumes, response and handle times, SLA, CSAT")
    def get(self, request):
        return super().get(request)


class AgentReportView(_ReportView):
    group = "agent"

    @_schema("agents", "Per agent: volumes, response and handle times, SLA, CSAT")
    def get(self, request):
        return super().get(request)


class DayReportView(_ReportView):
    group = "day"

    @_schema("days", "Per day: volumes, response and handle times, SLA, CSAT")
    def get(self, request):
        return super().get(request)
