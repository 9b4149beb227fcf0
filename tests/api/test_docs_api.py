"""docs/api.md travels with the code: every endpoint of the API is in the guide, and every
URL the guide's curl examples call exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator

DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
PREFIX = "/api/v1"


def _doc_urls() -> set[str]:
    """Paths the guide calls: `$PARLEY/...` and `https://parley.example.com/api/v1/...`."""
    found = re.findall(r"(?:\$PARLEY|https://parley\.example\.com/api/v1)(/[^\s\"'?`]+)", DOC)
    return {u for u in found if u != "/"}


def test_every_url_in_the_guide_exists():
    urls = _doc_urls()
    assert len(urls) > 20
    for url in sorted(urls):
        try:
            resolve(PREFIX + url)
        except Resolver404:
            pytest.fail(f"docs/api.md calls {url}, which is no endpoint")


def test_every_endpoint_is_in_the_guide():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    urls = _doc_urls() | set(re.findall(r"`(?:GET|POST|PATCH|DELETE) (/[^`?]*)", DOC))
    missing = []
    for path in schema["paths"]:
        if not path.startswith(PREFIX + "/") or path.startswith(PREFIX + "/widget/"):
            continue  # the widget's own endpoint is in docs/protocol.md
        pattern = re.escape(path[len(PREFIX) :])
        pattern = re.sub(r"\\\{[a-z_]+\\\}", r"[^/]+", pattern)
        if not any(re.fullmatch(pattern, url) for url in urls):
            missing.append(path)
    assert missing == []
