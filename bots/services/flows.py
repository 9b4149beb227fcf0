"""Flows: save a validated draft, publish a version, export and import JSON documents."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify

from bots.graph_validation import validate_graph
from bots.handoff_queues import graph_queue_errors
from bots.models import Flow, FlowVersion
from chat.exceptions import NotFound, ValidationError

EXPORT_FORMAT = "parley.flow"
EXPORT_FORMAT_VERSION = 1
MAX_DOCUMENT_BYTES = 1_000_000


class FlowInvalid(ValidationError):
    """The flow is invalid; ``errors`` lists every problem as {"path", "message"}."""

    code = "invalid_flow"

    def __init__(self, errors: list[dict[str, str]], message: str = "") -> None:
        self.errors = errors
        first = f"{errors[0]['path']}: {errors[0]['message']}" if errors else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(message or f"The flow is invalid: {first}{more}", field="graph")


def flow_validate(*, graph: Any) -> list[dict[str, str]]:
    """Every problem of a graph (an empty list when it is valid): its form
    (bots.graph_validation, pure) and what needs the database, a handoff's queue that does
    not exist or is inactive (bots.handoff_queues). Admin, the REST API and import all
    validate here, so each refuses the same flows with the same messages."""
    return validate_graph(graph) + graph_queue_errors(graph)


def _check(graph: Any) -> None:
    errors = flow_validate(graph=graph)
    if errors:
        raise FlowInvalid(errors)


def _clean_goal(goal: Any) -> str:
    if goal not in Flow.Goal.values:
        raise ValidationError(f"goal must be one of {', '.join(Flow.Goal.values)}.", field="goal")
    return goal


@transaction.atomic
def flow_create(
    *,
    name: str,
    graph: Any,
    slug: str | None = None,
    goal: str = Flow.Goal.LEAD_CAPTURED,
    description: str = "",
) -> Flow:
    _check(graph)
    slug = slug or slugify(name)[:80]
    if not slug:
        raise ValidationError("A flow needs a name or a slug.", field="slug")
    if Flow.objects.filter(slug=slug).exists():
        raise ValidationError(f"A flow with slug {slug!r} exists.", code="conflict", field="slug")
    return Flow.objects.create(
        name=name[:120], slug=slug, goal=_clean_goal(goal), description=description, draft=graph
    )


@transaction.atomic
def flow_draft_save(*, flow: Flow, graph: Any) -> Flow:
    """Replace a flow's draft with a validated graph. Running conversations are unaffected:
    they run on published versions."""
    _check(graph)
    flow.draft = graph
    flow.save(update_fields=["draft", "updated_at"])
    return flow


@transaction.atomic
def flow_publish(*, flow: Flow, published_by: str = "") -> FlowVersion:
    """Freeze the draft into a new immutable version and make it the one new conversations
    start; a draft equal to the published version publishes nothing and returns that one.
    The flow row is locked so two publishers get distinct version numbers."""
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    _check(flow.draft)
    current = flow.published_version
    if current is not None and current.graph == flow.draft:
        # Nothing new: a second publish (a retry, a double click, an import of the same
        # document) keeps the version running conversations and variant counts refer to.
        return current
    last = flow.versions.aggregate(n=Max("number"))["n"] or 0
    version = FlowVersion.objects.create(
        flow=flow,
        number=last + 1,
        graph=copy.deepcopy(flow.draft),
        published_by=published_by[:120],
    )
    flow.published_version = version
    flow.save(update_fields=["published_version", "updated_at"])
    return version


def flow_export(*, flow: Flow, version: int | None = None) -> dict[str, Any]:
    """A portable JSON document: the draft, or a published version's graph."""
    graph = flow.draft
    if version is not None:
        found = flow.versions.filter(number=version).first()
        if found is None:
            raise NotFound(f"Flow {flow.slug!r} has no version {version}.")
        graph = found.graph
    published = flow.published_version.number if flow.published_version_id else None
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "name": flow.name,
        "slug": flow.slug,
        "description": flow.description,
        "goal": flow.goal,
        "exported_version": version,
        "published_version": published,
        "graph": graph,
    }


@transaction.atomic
def flow_import(
    *, document: Any, publish: bool = False, published_by: str = ""
) -> tuple[Flow, bool]:
    """Create or update (by slug) a flow from an exported document; returns (flow, created).
    The graph is validated before anything is written; `publish` also publishes it."""
    if not isinstance(document, dict):
        raise ValidationError("The document must be a JSON object.", field="document")
    if document.get("format") != EXPORT_FORMAT:
        raise ValidationError(
            f"format must be {EXPORT_FORMAT!r} (a file made by flow export).", field="format"
        )
    if document.get("format_version") != EXPORT_FORMAT_VERSION:
        raise ValidationError(
            f"format_version {document.get('format_version')!r} is not supported "
            f"(this server reads {EXPORT_FORMAT_VERSION}).",
            field="format_version",
        )
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name must be a non-empty string.", field="name")
    slug = document.get("slug") or slugify(name)
    if not isinstance(slug, str) or slugify(slug) != slug or len(slug) > 80:
        raise ValidationError("slug must be a slug (a-z 0-9 - _), 80 at most.", field="slug")
    goal = _clean_goal(document.get("goal", Flow.Goal.LEAD_CAPTURED))
    description = document.get("description") or ""
    if not isinstance(description, str):
        raise ValidationError("description must be a string.", field="description")
    graph = document.get("graph")
    _check(graph)
    flow = Flow.objects.select_for_update().filter(slug=slug).first()
    created = flow is None
    if created:
        flow = Flow.objects.create(
            name=name[:120], slug=slug, goal=goal, description=description, draft=graph
        )
    else:
        flow.name, flow.goal, flow.description, flow.draft = name[:120], goal, description, graph
        flow.save(update_fields=["name", "goal", "description", "draft", "updated_at"])
    if publish:
        flow_publish(flow=flow, published_by=published_by)
        flow.refresh_from_db()
    return flow, created


def flow_document_load(*, path: str | Path) -> dict[str, Any]:
    """Read an exported JSON file, with a clear error for a bad one."""
    path = Path(path)
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise ValidationError(f"{path} is larger than {MAX_DOCUMENT_BYTES} bytes.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValidationError(f"{path} is not valid JSON: {exc}.", code="bad_json") from exc
