"""Translation on demand (an agent asks for one message in a language: the console's
message.translate frame and REST) and the site's glossary of terms never translated,
through LibreTranslate's HTTP API on a local stand-in server."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from chat.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from chat.models import MessageTranslation
from chat.pipeline.glossary import protect, restore
from chat.services.pipeline import message_pipeline_process
from chat.services.translation_requests import message_translation_request
from config.asgi import application
from tests.api.conftest import key_client
from tests.factories import agent_actor, customer_actor, make_agent, session_cookie
from tests.pipeline.helpers import make_chat


def process(message, on_commit) -> None:
    with on_commit(execute=True):
        message_pipeline_process(message_id=message.pk)


# --- glossary -------------------------------------------------------------------------------
def test_glossary_terms_are_swapped_out_and_back_as_written():
    text, kept = protect(
        "Ma perceuse bricomax et la PowerDrill 3000", ["Bricomax", "PowerDrill 3000"]
    )
    assert "bricomax" not in text.lower() and "PowerDrill" not in text
    assert kept == ["bricomax", "PowerDrill 3000"]
    assert restore(text.replace("Ma perceuse", "My drill"), kept) == (
        "My drill bricomax et la PowerDrill 3000"
    )
    # whole words only; an empty glossary changes nothing
    assert protect("Bricomaxi", ["Bricomax"]) == ("Bricomaxi", [])
    assert protect("x", []) == ("x", [])
    assert restore("zqx 0 is lost? ZQX9", ["A"]) == "A is lost? ZQX9"


@pytest.mark.django_db
def test_the_site_glossary_never_reaches_the_engine(pipeline_settings, stub, on_commit):
    pipeline_settings(TRANSLATION_ENGINE="libretranslate", LIBRETRANSLATE_URL=stub.url)
    chat = make_chat(locale="fr", agent_languages=["en"], translation_glossary=["Bricomax"])
    with on_commit(execute=True):
        message = chat.customer_says("Ma perceuse Bricomax ne marche plus", "c1")
    process(message, on_commit)
    [request] = stub.requests
    assert "Bricomax" not in request["json"]["q"] and "ZQX0" in request["json"]["q"]
    row = message.translations.get()
    assert row.state == "done" and row.body == "<en> Ma perceuse Bricomax ne marche plus"


# --- on demand --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_agent_asks_for_a_message_in_another_language(
    pipeline_settings, stub, published, on_commit
):
    pipeline_settings(TRANSLATION_ENGINE="libretranslate", LIBRETRANSLATE_URL=stub.url)
    chat = make_chat(locale="fr", agent_languages=["en"])
    with on_commit(execute=True):
        message = chat.customer_says("Bonjour, où est ma commande ?", "c1")
    process(message, on_commit)  # translated into English for the agent
    published.listen(chat.agent_group)
    actor = agent_actor(chat.agent)
    kw = {"actor": actor, "conversation_id": chat.conversation.pk, "seq": message.seq}
    with on_commit(execute=True):
        assert message_translation_request(**kw, language="en") == "done"
        assert message_translation_request(**kw, language="de") == "queued"
    process(message, on_commit)
    row = MessageTranslation.objects.get(message=message, language="de")
    assert (row.state, row.body) == ("done", "<de> Bonjour, où est ma commande ?")
    updated = [f for f in published.frames(chat.agent_group) if f["type"] == "message.updated"]
    assert updated[-1]["message"]["translations"]["de"]["body"] == row.body
    # a failed one is tried again on request
    MessageTranslation.objects.filter(pk=row.pk).update(state="unavailable", body="")
    with on_commit(execute=True):
        assert message_translation_request(**kw, language="de") == "queued"
    assert MessageTranslation.objects.get(pk=row.pk).state == "pending"


@pytest.mark.django_db
def test_bad_translation_requests_say_what_is_wrong(pipeline_settings, stub, on_commit):
    pipeline_settings(TRANSLATION_ENGINE="libretranslate", LIBRETRANSLATE_URL=stub.url)
    chat = make_chat(locale="fr", agent_languages=["en"])
    with on_commit(execute=True):
        message = chat.customer_says("Bonjour, où est ma commande ?", "c1")
    actor = agent_actor(chat.agent)
    kw = {"actor": actor, "conversation_id": chat.conversation.pk}
    with pytest.raises(Conflict, match="not known yet"):  # not detected yet
        message_translation_request(**kw, seq=message.seq, language="en")
    process(message, on_commit)
    with pytest.raises(NotFound):
        message_translation_request(**kw, seq=999, language="en")
    with pytest.raises(ValidationError, match="one of"):
        message_translation_request(**kw, seq=message.seq, language="xx")
    with pytest.raises(ValidationError, match="already in fr"):
        message_translation_request(**kw, seq=message.seq, language="fr")
    with pytest.raises(ValidationError):
        message_translation_request(**kw, seq=message.seq, language=7)
    with pytest.raises(PermissionDenied):
        message_translation_request(
            actor=customer_actor(chat.customer),
            conversation_id=chat.conversation.pk,
            seq=message.seq,
            language="en",
        )
    pipeline_settings(TRANSLATION_ENGINE="argos")
    with pytest.raises(Conflict) as caught:
        message_translation_request(**kw, seq=message.seq, language="de")
    assert caught.value.code in ("translation_unavailable", "conflict")


@pytest.mark.django_db
def test_rest_translate(pipeline_settings, stub, on_commit):
    pipeline_settings(TRANSLATION_ENGINE="libretranslate", LIBRETRANSLATE_URL=stub.url)
    chat = make_chat(locale="fr", agent_languages=["en"])
    with on_commit(execute=True):
        message = chat.customer_says("Bonjour, où est ma commande ?", "c1")
    process(message, on_commit)
    client = Client()
    client.force_login(chat.agent)
    url = f"/api/v1/conversations/{chat.conversation.pk}/messages/{message.seq}/translate/"
    with on_commit(execute=True):
        answer = client.post(url, {"language": "it"}, content_type="application/json")
    assert answer.status_code == 202 and answer.json() == {"status": "queued"}
    assert client.post(url, {"language": "en"}, content_type="application/json").json() == {
        "status": "done"
    }
    bad = client.post(url, {"language": "xx"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_field"
    missing = client.post(
        url.replace(f"/{message.seq}/", "/99/"), {}, content_type="application/json"
    )
    assert missing.status_code == 404

    # An API key with messages:write asks too (docs/api.md); it has no language of its own.
    keyed, _ = key_client(site=chat.conversation.site)
    with on_commit(execute=True):
        answer = keyed.post(url, {"language": "de"}, format="json")
    assert answer.status_code == 202 and answer.json() == {"status": "queued"}
    unsaid = keyed.post(url, {}, format="json")
    assert unsaid.status_code == 400 and unsaid.json()["error"]["field"] == "language"


@pytest.mark.django_db(transaction=True)
async def test_the_console_frame_is_acknowledged_and_errors_are_frames(pipeline_settings, stub):
    pipeline_settings(TRANSLATION_ENGINE="libretranslate", LIBRETRANSLATE_URL=stub.url)
    chat = await database_sync_to_async(make_chat)(locale="fr", agent_languages=["en"])
    other = await database_sync_to_async(make_agent)(languages=["en"])
    sid = await database_sync_to_async(session_cookie)(chat.agent)
    comm = WebsocketCommunicator(
        application,
        "/ws/agent/",
        headers=[(b"cookie", f"sessionid={sid}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    assert (await comm.connect(timeout=5))[0]
    hello = await comm.receive_json_from(timeout=5)
    assert hello["translation"]["state"] == "ready"
    await comm.send_json_to({"type": "message.translate", "id": "t1", "conversation": chat.conversation.pk, "seq": "x"})  # fmt: skip
    while (frame := await comm.receive_json_from(timeout=5))["type"] != "error":
        pass
    assert (frame["code"], frame["ref"], frame["field"]) == ("invalid_field", "t1", "seq")
    await comm.send_json_to({"type": "message.translate", "id": "t2", "conversation": chat.conversation.pk, "seq": 999})  # fmt: skip
    while (frame := await comm.receive_json_from(timeout=5))["type"] != "error":
        pass
    assert (frame["code"], frame["ref"]) == ("not_found", "t2")
    await comm.disconnect()
    assert other.pk != chat.agent.pk
