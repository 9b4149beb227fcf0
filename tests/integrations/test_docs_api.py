"""docs/api.md travels with the code: its event table is the registry, its condition and
action tables are the rule format, and its verification snippets (Python and JS) accept a
real signed delivery and refuse a forged one."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chat.events import HOOK_EVENTS
from integrations import rules
from integrations.models import webhook_secret
from integrations.services.delivery import sign

DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()


def _block(lang: str, after: str) -> str:
    start = DOC.index(after)
    return re.search(rf"```{lang}\n(.*?)```", DOC[start:], flags=re.S).group(1)


def _table_rows(heading: str) -> dict[str, str]:
    section = DOC[DOC.index(heading) :]
    section = section[: section.index("\n### ", 1)] if "\n### " in section[1:] else section
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for name in re.findall(r"`([a-z_.]+)`", cells[0]):
                rows[name] = "|".join(cells[1:])
    return rows


def test_the_event_table_is_the_registry():
    rows = _table_rows("### Event types")
    assert sorted(rows) == sorted(HOOK_EVENTS)
    for name, event in HOOK_EVENTS.items():
        fields = set(re.findall(r"`([a-z_]+)`", rows[name].split("|")[0]))
        assert fields == set(event.data), name


def test_the_rule_tables_are_the_rule_format():
    assert sorted(_table_rows("### Conditions")) == sorted(rules.FIELDS)
    assert sorted(_table_rows("### Actions")) == sorted(rules.ACTIONS)


def test_the_example_rules_are_valid(db):
    from routing.models import Queue

    Queue.objects.create(name="Billing")
    examples = re.findall(r"```json\n(\{\n  \"event\".*?)```", DOC, flags=re.S)
    assert len(examples) == 3
    for text in examples:
        rule = json.loads(text)
        assert rules.validate(**rule) == []


def _signed() -> tuple[str, str, dict[str, str]]:
    secret = webhook_secret()
    body = json.dumps({"type": "csat.submitted", "data": {"score": 5}}, separators=(",", ":"))
    headers = sign(secret=secret, msg_id="msg_1", timestamp=dt.datetime.now(dt.UTC), body=body)
    return secret, body, headers


def test_the_python_snippet_verifies_a_delivery():
    namespace: dict = {}
    exec(_block("python", "Python, with the"), namespace)
    secret, body, headers = _signed()
    assert namespace["parley_event"](body.encode(), headers, secret)["data"]["score"] == 5
    assert namespace["parley_event"](body.replace("5", "1").encode(), headers, secret) is None
    assert namespace["parley_event"](body.encode(), headers, webhook_secret()) is None


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")
def test_the_js_snippet_verifies_a_delivery(tmp_path):
    (tmp_path / "verify.mjs").write_text(_block("js", "JavaScript (Node"))
    secret, body, headers = _signed()
    cases = [
        (body, secret, True),
        (body.replace("5", "1"), secret, False),
        (body, webhook_secret(), False),
    ]
    script = "import { parleyEvent } from './verify.mjs';\n" + "".join(
        f"console.log(JSON.stringify(parleyEvent({json.dumps(b)}, {json.dumps(headers)}, "
        f"{json.dumps(s)})));\n"
        for b, s, _ in cases
    )
    (tmp_path / "run.mjs").write_text(script)
    out = subprocess.run(
        ["node", "run.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True
    ).stdout.split("\n")
    assert json.loads(out[0])["data"]["score"] == 5
    assert out[1] == "null" and out[2] == "null"
