"""schemathesis against the live server (daphne, as runparley starts it): every documented
operation, a bounded number of generated examples each (valid and invalid), and the
responses checked against the schema: no server error, only documented status codes,
content types, headers and bodies, and invalid input refused. 0 failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.crypto import get_random_string

from actions import conversations as conversation_actions
from bots.demo import demo_flow_install
from chat import services
from integrations.services.endpoints import endpoint_save
from integrations.services.rules import rule_save
from routing.services import conversation_assign
from tests.browser.conftest import asgi_server, server_env  # noqa: F401  (fixtures)
from tests.factories import agent_actor, customer_actor, make_agent, make_customer, make_site

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(420)]

EXAMPLES = 15  # per operation
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)
ST = str(Path(sys.executable).parent / "st")


@pytest.fixture
def server_env():  # noqa: F811
    # The fuzzer is one caller sending hundreds of requests a second: no quota in its way.
    return {
        "API_KEY_RATE": "1000000/min",
        "API_KEY_DAILY_REQUESTS": "0",
        "API_KEY_DAILY_BYTES": "0",
        "API_ANON_RATE": "1000000/min",
    }


def _seed() -> dict[str, object]:
    """Real rows, so that operations on an id reach their logic instead of a 404."""
    site = make_site()
    customer = make_customer(site=site, external_id="crm-1")
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    agent = make_agent()
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation.pk)
    flow = demo_flow_install()
    # A webhook endpoint with one delivery, for the webhook operations (hooks).
    hook = endpoint_save(site=site, url="https://hooks.example/parley", events=["message.created"])
    conversation_actions.message_send(
        actor=customer_actor(customer), conversation_id=conversation.pk, body="hi",
        client_msg_id="st-1",
    )  # fmt: skip
    rule = rule_save(
        site=site, name="st", event="message.created",
        actions=[{"type": "tag", "tags": ["st"]}],
    )  # fmt: skip
    return {
        "webhook_id": hook.pk,
        "rule_id": rule.pk,
        "delivery_id": hook.deliveries.get().pk,
        "slug": f'"{flow.slug}"',
        "conversation_id": conversation.pk,
        "customer_id": customer.pk,
        "queue_id": site.default_queue_id,
        "user_id": agent.pk,
    }


def _schemathesis(url: str, tmp_path: Path, ids: dict, headers: list[str], *extra: str) -> str:
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n" + "".join(f'"path.{name}" = {value}\n' for name, value in ids.items())
    )
    command = [
        ST, "--config-file", str(config), "run", f"{url}/api/schema/",
        *(arg for header in headers for arg in ("--header", header)),
        "--max-examples", str(EXAMPLES), "--workers", "2", "--seed", "1",
        "--phases", "examples,fuzzing", "--checks", CHECKS,
        "--generation-database", "none", "--no-color", *extra,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    output = result.stdout + result.stderr
    print(output[-3000:])
    assert result.returncode == 0, output[-20000:]
    assert " passed" in output and "failure" not in output.split("SUMMARY")[-1]
    return output


# Every operation (about 60) times 15 examples, on a shared 2-core machine: more than the
# suite's default 120 s when it is loaded; the subprocess has its own 300 s bound.
@pytest.mark.timeout(600)
def test_the_api_keeps_to_its_schema(asgi_server, tmp_path):  # noqa: F811
    ids = _seed()
    key, raw_key = services.api_key_create(name="schemathesis")
    _schemathesis(asgi_server.url, tmp_path, ids, [f"Authorization: Bearer {raw_key}"])
    # The API-key endpoints are for staff (a session): their own pass, with a CSRF pair.
    staff = get_user_model().objects.create_superuser("st-admin", "st@example.com", "pw")
    browser = Client()
    browser.force_login(staff)
    session = browser.cookies["sessionid"].value
    csrf = get_random_string(32)
    _schemathesis(
        asgi_server.url,
        tmp_path,
        {**ids, "key_id": key.pk},
        [f"Cookie: sessionid={session}; csrftoken={csrf}", f"X-CSRFToken: {csrf}"],
        "--include-path-regex",
        "/api-keys/",
    )
