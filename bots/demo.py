"""The demo flow: an online DIY marketplace's qualification flow (bots/flows/)."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from agents.models import AgentProfile
from agents.services import agent_profile_sync
from bots.models import Flow
from bots.services import flow_document_load, flow_import, flow_publish
from routing.models import Queue

DEMO_FLOW_PATH = Path(__file__).resolve().parent / "flows" / "diy_marketplace.json"
DEMO_EVAL_PATH = Path(__file__).resolve().parent / "flows" / "diy_marketplace.eval.json"


def demo_queue_names(document: dict) -> list[str]:
    nodes = document["graph"]["nodes"].values()
    return sorted({n["queue"] for n in nodes if n.get("type") == "handoff" and n.get("queue")})


@transaction.atomic
def demo_flow_install() -> Flow:
    """Import and publish the demo flow, and create the queues it hands off to. Idempotent:
    a flow that already exists is left as it is (it may have been edited in admin)."""
    document = flow_document_load(path=DEMO_FLOW_PATH)
    for name in demo_queue_names(document):
        Queue.objects.get_or_create(name=name)
    flow = Flow.objects.filter(slug=document["slug"]).first()
    if flow is None:
        flow, _ = flow_import(document=document, publish=True, published_by="loaddemo")
    elif flow.published_version_id is None:
        flow_publish(flow=flow, published_by="loaddemo")
        flow.refresh_from_db()
    return flow


def demo_handoff_skills(graph: dict) -> list[str]:
    nodes = graph["nodes"].values()
    return sorted(
        {s.lower() for n in nodes if n.get("type") == "handoff" for s in n.get("skills") or []}
    )


@transaction.atomic
def demo_flow_setup(*, site, agent_usernames: list[str]) -> Flow:
    """The demo flow as the site's default flow, with the demo agents subscribed to its
    queues and holding its skills, so that every handoff can reach them. Idempotent."""
    flow = demo_flow_install()
    if site.default_flow_id != flow.pk:
        site.default_flow = flow
        site.save(update_fields=["default_flow"])
    graph = flow.published_version.graph
    queues = list(Queue.objects.filter(name__in=demo_queue_names({"graph": graph})))
    skills = demo_handoff_skills(graph)
    for profile in AgentProfile.objects.filter(user__username__in=agent_usernames):
        profile.queues.add(*queues)
        merged = sorted({*(profile.skills or []), *skills})
        if merged != sorted(profile.skills or []):
            profile.skills = merged
            profile.save(update_fields=["skills"])
        # The router filters on a copy of the skills kept on the agent's presence.
        agent_profile_sync(user=profile.user)
    return flow
