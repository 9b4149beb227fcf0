"""The supervision reports over REST (/api/v1/reports/queues|agents|days/): the page's
figures, filtered by site, queue, agent and days; the reports:read scope; a site-limited key
sees its site only; bad input is a 400 in the API's error shape."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from chat import services
from chat.models import ApiKey
from supervision import rollups, selectors
from tests.factories import make_agent, make_site
from tests.supervision.test_reports import D2, D, world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def key(site=None, scopes=None) -> APIClient:
    made, raw = services.api_key_create(name="bi", site=site)
    if scopes is not None:
        ApiKey.objects.filter(pk=made.pk).update(scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def two_sites(world):  # noqa: F811
    """The reports' world, plus one resolved conversation in queue A on another site."""
    home, other = world.site, make_site()
    world.site = other
    world.conversation(D, queue=world.qa, agent=world.ann, status="resolved", queued="15:00:00",
                       assigned="15:00:05", first_reply="15:00:10", resolved="15:01:05",
                       entry=("assigned", None))  # fmt: skip
    world.site = home
    rollups.rollup_days(first=D, last=D2)
    return world, home, other


def get(client, path: str, **params):
    return client.get(f"/api/v1/reports/{path}/?{urlencode({'from': D, 'to': D2, **params})}")


def rows(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {row["name"]: row for row in response.json()["rows"]}


def test_the_api_gives_the_page_s_figures_for_a_site(two_sites):
    _, home, other = two_sites
    api = key()
    mine = get(api, "queues", site=home.pk)
    assert mine.json()["rows"] == selectors.report_rows(
        group="queue", first=D, last=D2, site_id=home.pk
    )
    assert rows(mine)["A"]["conversations"] == 4 and rows(mine)["A"]["first_response_avg_s"] == 66.7
    body = mine.json()
    assert (body["group"], body["from"], body["to"], body["site"]) == (
        "queue", D.isoformat(), D2.isoformat(), home.pk
    )  # fmt: skip
    assert body["totals"]["conversations"] == 8 and body["totals"]["abandoned"] == 1
    # Every site: queue A has the other site's conversation too.
    everyone = get(api, "queues")
    assert rows(everyone)["A"]["conversations"] == 5
    assert everyone.json()["totals"]["conversations"] == 9
    assert rows(get(api, "queues", site=other.pk)).keys() == {"A"}


def test_queue_agent_and_day_filters(two_sites):
    w, home, _ = two_sites
    api = key()
    agents = rows(get(api, "agents", site=home.pk, queue=w.qa.pk))
    assert agents.keys() == {"Ann", "(unassigned)"}
    assert (agents["Ann"]["conversations"], agents["(unassigned)"]["abandoned"]) == (3, 1)
    bob = get(api, "days", agent=w.bob.pk)
    assert [(r["key"], r["conversations"]) for r in bob.json()["rows"]] == [
        (D.isoformat(), 1), (D2.isoformat(), 1)
    ]  # fmt: skip
    no_queue = get(api, "queues", queue=0)
    assert [r["name"] for r in no_queue.json()["rows"]] == ["(no queue)"]
    only_d2 = get(api, "queues", **{"from": D2})
    assert [(r["name"], r["conversations"]) for r in only_d2.json()["rows"]] == [("B", 2)]


def test_a_site_limited_key_sees_its_site_only(two_sites):
    _, home, other = two_sites
    limited = key(site=other)
    response = get(limited, "queues")
    assert response.json()["site"] == other.pk
    assert rows(response).keys() == {"A"} and rows(response)["A"]["conversations"] == 1
    refused = get(limited, "queues", site=home.pk)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_scope_and_who_may_read(two_sites):
    no_scope = get(key(scopes=["conversations:read"]), "queues")
    assert (no_scope.status_code, no_scope.json()["error"]["code"]) == (403, "scope_missing")
    assert get(key(scopes=["reports:read"]), "agents").status_code == 200
    assert get(APIClient(), "queues").status_code in (401, 403)
    agent = APIClient()
    agent.force_login(make_agent("plain"))
    assert get(agent, "queues").status_code == 403
    boss = get_user_model().objects.create_superuser("boss", "b@example.com", "pw")
    supervisor = APIClient()
    supervisor.force_login(boss)
    assert rows(get(supervisor, "queues"))["A"]["conversations"] == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "from"),
        ({"from": "2000-01-01", "to": "2026-11-01"}, "from"),
        ({"to": "2026-11-01\x00"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"site": "0"}, "site"),
        ({"site": str(2**64)}, "site"),
        ({"site": "1\x00"}, "site"),
        ({"queue": "-1"}, "queue"),
        ({"agent": "ann"}, "agent"),
    ],
)
def test_bad_report_parameters_are_400_with_the_field(params, field):
    response = key().get(f"/api/v1/reports/queues/?{urlencode(params)}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


def test_the_first_day_defaults_without_overflow():
    response = key().get("/api/v1/reports/days/?to=0001-01-02")
    assert response.status_code == 200, response.content
    assert (response.json()["from"], response.json()["rows"]) == ("0001-01-01", [])
