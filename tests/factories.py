"""Plain builders for test data (no factory library: explicit is enough here)."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from agents.models import AgentProfile
from chat.actors import Actor
from chat.models import Customer, Site
from routing.models import Queue

_n = itertools.count(1)


def make_site(**kw) -> Site:
    queue = kw.pop("default_queue", None) or Queue.objects.get_or_create(name="General")[0]
    return Site.objects.create(name=kw.pop("name", f"Site {next(_n)}"), default_queue=queue, **kw)


def make_customer(site: Site | None = None, **kw) -> Customer:
    return Customer.objects.create(site=site or make_site(), name=kw.pop("name", "Zoé"), **kw)


def make_agent(username: str | None = None, **kw):
    User = get_user_model()
    username = username or f"agent{next(_n)}"
    user = User.objects.create_user(
        username, f"{username}@example.com", "pw", first_name=username.title()
    )
    AgentProfile.objects.create(user=user, display_name=username.title(), **kw)
    return user


def customer_actor(customer: Customer) -> Actor:
    return Actor.for_customer(customer)


def agent_actor(user) -> Actor:
    return Actor.for_agent(user)


def session_cookie(user) -> str:
    """The value of a Django session cookie for ``user``, logged in (a console's socket)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value
