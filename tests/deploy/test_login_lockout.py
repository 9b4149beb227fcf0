"""Login lockout (django-axes): repeated failed logins for a username from one address are
refused, even with the right password, and the lockout does not reach other addresses."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-1"


def attempt(client: Client, password: str, url: str = "/accounts/login/"):
    return client.post(url, {"username": "alice", "password": password})


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password=PASSWORD, is_staff=True)


def test_failed_logins_lock_the_username_at_that_address(settings, alice):
    settings.AXES_FAILURE_LIMIT = 3
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(2):
        assert attempt(attacker, "wrong").status_code == 200  # the form again, with an error
    locked = attempt(attacker, "wrong")
    assert locked.status_code == 429
    refused = attempt(attacker, PASSWORD)  # the right password no longer helps
    assert refused.status_code == 429
    assert "_auth_user_id" not in attacker.session
    # Admin's login form is the same door.
    assert attempt(attacker, PASSWORD, "/admin/login/?next=/admin/").status_code == 429

    # The real alice, elsewhere, is not locked out by a stranger's failures.
    office = Client(REMOTE_ADDR="198.51.100.7")
    ok = attempt(office, PASSWORD)
    assert ok.status_code == 302 and office.session["_auth_user_id"] == str(alice.pk)


def test_a_success_before_the_limit_resets_the_count(settings, alice):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="192.0.2.1")
    for _ in range(2):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        assert attempt(client, "wrong").status_code == 200
    assert attempt(client, PASSWORD).status_code == 302
