"""A site's pre-chat form: the form's own validation, and a visitor's answers checked and
stored on the customer through the REST API."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat import services
from chat.models import ConversationEvent, Customer
from chat.prechat import validate_prechat_form
from routing.models import QueueEntry
from tests.factories import customer_actor, make_customer, make_site
from tests.routing.conftest import make_queue

pytestmark = pytest.mark.django_db

FORM = {
    "fields": [
        {"name": "name", "required": True},
        {"name": "email", "required": True},
        {"name": "consent", "required": True, "label": {"en": "I agree", "fr": "J'accepte"}},
        {"name": "order", "type": "text", "label": "Order number"},
        {"name": "topic", "type": "select", "label": "Topic", "options": ["Orders", "Returns"],
         "required": False},
    ]
}  # fmt: skip


def visitor(customer) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Visitor {services.visitor_token_issue(customer=customer)}"
    )
    return client


@pytest.mark.parametrize(
    "form",
    [
        [],
        {"fields": "name"},
        {"fields": [{"name": "Bad Name"}]},
        {"fields": [{"name": "x", "type": "text"}]},  # a custom field needs a label
        {"fields": [{"name": "email", "type": "text"}]},  # built-ins keep their type
        {"fields": [{"name": "t", "type": "select", "label": "T", "options": []}]},
        {"fields": [{"name": "name"}, {"name": "name"}]},
        {"fields": [{"name": "name", "required": "yes"}]},
        {"fields": [{"name": "name", "colour": "red"}]},
    ],
)
def test_a_bad_form_is_refused_by_its_validator(form):
    with pytest.raises(DjangoValidationError):
        validate_prechat_form(form)


def test_the_form_of_the_example_is_valid():
    validate_prechat_form(FORM)
    validate_prechat_form({})


def test_answers_are_stored_on_the_customer_and_the_session_says_so():
    site = make_site(prechat_form=FORM)
    customer = make_customer(site=site, name="")
    answers = {
        "name": "Zoé Martin", "email": "zoe@example.com", "consent": True, "order": "DIY-42",
        "topic": "Returns",
    }  # fmt: skip
    response = visitor(customer).post("/api/v1/widget/prechat/", {"values": answers}, format="json")
    assert response.status_code == 200
    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.name, customer.email) == ("Zoé Martin", "zoe@example.com")
    assert customer.attributes["consent"]["given"] is True
    assert customer.attributes["prechat"] == {"order": "DIY-42", "topic": "Returns"}
    session = APIClient().post(
        "/api/v1/widget/sessions/",
        {"site_key": site.key, "token": services.visitor_token_issue(customer=customer)},
        format="json",
    )
    assert session.json()["prechat_done"] is True


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"email": "zoe@example.com", "consent": True}, "values.name"),
        ({"name": "Zoé", "email": "nope", "consent": True}, "values.email"),
        ({"name": "Zoé", "email": "zoe@example.com", "consent": False}, "values.consent"),
        ({"name": "Zoé", "email": "zoe@example.com", "consent": "yes"}, "values.consent"),
        ({"name": "Zoé", "email": "zoe@example.com", "consent": True, "topic": "Other"},
         "values.topic"),
        ({"name": "Zoé", "email": "zoe@example.com", "consent": True, "admin": "1"},
         "values.admin"),
        ({"name": "x" * 501, "email": "zoe@example.com", "consent": True}, "values.name"),
    ],
)  # fmt: skip
def test_a_bad_answer_is_a_400_naming_its_field(answers, field):
    customer = make_customer(site=make_site(prechat_form=FORM))
    response = visitor(customer).post("/api/v1/widget/prechat/", {"values": answers}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == field
    assert "prechat_at" not in Customer.objects.get(pk=customer.pk).attributes


def test_no_form_is_a_409_and_only_visitors_answer():
    customer = make_customer(site=make_site())
    response = visitor(customer).post("/api/v1/widget/prechat/", {"values": {}}, format="json")
    assert response.status_code == 409
    assert APIClient().post("/api/v1/widget/prechat/", {"values": {}}, format="json").status_code in (
        401, 403
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)  # the router decides after commit
def test_an_offline_message_gets_an_email_for_the_answer():

    queue = make_queue(business_hours={"mon": []})  # never open
    customer = make_customer(site=make_site(default_queue=queue), name="")
    conversation, _ = conversation_actions.conversation_start(actor=customer_actor(customer))
    assert QueueEntry.objects.get(conversation=conversation).mode == "offline"
    url = f"/api/v1/conversations/{conversation.pk}/offline-contact/"
    client = visitor(customer)
    for bad in ("", "nope", 7):
        response = client.post(url, {"email": bad}, format="json")
        assert response.status_code == 400 and response.json()["error"]["field"] == "email"
    assert client.post(url, {"email": "zoe@example.com"}, format="json").status_code == 200
    assert Customer.objects.get(pk=customer.pk).email == "zoe@example.com"
    event = ConversationEvent.objects.get(conversation=conversation, type="offline.contact")
    assert event.data == {"email": "zoe@example.com"}
    stranger = make_customer(site=customer.site)
    assert visitor(stranger).post(url, {"email": "x@example.com"}, format="json").status_code == 404
