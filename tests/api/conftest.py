from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chat import quotas, services
from tests.conftest import quota_counts_forget


@pytest.fixture(autouse=True)
def _quota_store_fresh():
    quotas.store.reset()
    quota_counts_forget()
    yield
    quotas.store.reset()


def key_client(**kwargs) -> tuple[APIClient, object]:
    """An APIClient with a fresh API key (all scopes unless given)."""
    key, raw = services.api_key_create(name=kwargs.pop("name", "integration"), **kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, key


def visitor_client(customer) -> APIClient:
    client = APIClient()
    token = services.visitor_token_issue(customer=customer)
    client.credentials(HTTP_AUTHORIZATION=f"Visitor {token}")
    return client
