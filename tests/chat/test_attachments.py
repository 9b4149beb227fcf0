"""Attachments over REST: upload, limits, sniffing, polyglots, thumbnails, the send that
links them, the payloads that carry them, and the signed links that serve them."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from actions import conversations as conversation_actions
from chat.attachment_models import Attachment
from chat.events import ATTACHMENT_FIELDS
from chat.models import Conversation, Customer, Message
from chat.services.api_keys import api_key_create
from chat.services.attachments import attachments_purge_unsent
from chat.services.customers import customer_erase
from chat.services.feedback import transcript_text
from routing.services import conversation_assign
from tests.chat.test_api import visitor
from tests.factories import agent_actor, make_agent, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def attachments_dir(monkeypatch, tmp_path):
    """Each test's files in its own folder. (The fields' storage, STORAGES["attachments"],
    is resolved once when the model loads, so a settings override would not reach it.)"""
    storage = FileSystemStorage(location=str(tmp_path / "attachments"))
    for name in ("file", "thumbnail"):
        monkeypatch.setattr(Attachment._meta.get_field(name), "storage", storage)
    return tmp_path / "attachments"


def png(size=(40, 20), color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG", **save)
    return out.getvalue()


def jpeg_rotated() -> bytes:
    """A 40x20 JPEG whose EXIF says "rotate 90°" and that carries a GPS-like comment."""
    img = Image.new("RGB", (40, 20), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    exif[0x010E] = "secret location 48.85N 2.35E"  # ImageDescription
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, format="GIF")
    return out.getvalue()


def upload(client, data: bytes, name="photo.png", content_type="image/png", **extra):
    return client.post(
        "/api/v1/widget/attachments/",
        {"file": SimpleUploadedFile(name, data, content_type=content_type), **extra},
        format="multipart",
    )


def send(client, conversation_id, cid, attachments, body=None):
    payload = {"client_msg_id": cid, "attachments": attachments}
    if body is not None:
        payload["body"] = body
    return client.post(f"/api/v1/conversations/{conversation_id}/messages/", payload, format="json")


def started(client):
    response = client.post("/api/v1/conversations/", {}, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()["id"]


def error(response) -> str:
    return response.json()["error"]["code"]


def test_a_customer_sends_an_image_and_everyone_reads_it_through_a_signed_link():
    site = make_site()
    client, _ = visitor(site)
    conversation_id = started(client)
    # The client claims text/html: the bytes decide.
    up = upload(client, png(), name="red.png", content_type="text/html")
    assert up.status_code == 201, up.content
    meta = up.json()
    assert set(meta) == ATTACHMENT_FIELDS
    assert (meta["kind"], meta["content_type"], meta["width"], meta["height"]) == (
        "image",
        "image/png",
        40,
        20,
    )
    sent = send(client, conversation_id, "c-1", [meta["id"]])
    assert sent.status_code == 201, sent.content
    message = sent.json()["message"]
    assert message["body"] == "" and message["data"] == {}
    assert [a["id"] for a in message["attachments"]] == [meta["id"]]
    # The REST read carries it too, with links that work for anyone holding them.
    page = client.get(f"/api/v1/conversations/{conversation_id}/messages/").json()
    [read] = [m for m in page["messages"] if m["attachments"]]
    attachment = read["attachments"][0]
    anonymous = APIClient()
    image = anonymous.get(attachment["url"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in image["Content-Security-Policy"]
    assert image["Content-Disposition"].startswith("inline")
    thumb = anonymous.get(attachment["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).format == "WEBP"
    stored = Attachment.objects.get(pk=meta["id"])
    assert stored.message.seq == read["seq"] and stored.conversation_id == conversation_id


def test_orientation_is_applied_and_metadata_stripped():
    client, _ = visitor()
    meta = upload(client, jpeg_rotated(), name="p.jpg", content_type="image/jpeg").json()
    assert (meta["width"], meta["height"]) == (20, 40)  # turned as the EXIF said
    stored = Attachment.objects.get(pk=meta["id"])
    with stored.file.open("rb") as f:
        data = f.read()
    assert b"secret location" not in data
    assert not Image.open(io.BytesIO(data)).getexif()


def test_a_pdf_is_a_download_and_text_never_html():
    client, _ = visitor()
    pdf = upload(client, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", name="inv.png")
    assert pdf.status_code == 201, pdf.content
    body = pdf.json()
    assert (body["kind"], body["content_type"], body["name"]) == (
        "file",
        "application/pdf",
        "inv.png.pdf",
    )
    assert body["thumbnail_url"] is None and body["width"] is None
    served = APIClient().get(body["url"])
    assert served["Content-Disposition"].startswith("attachment")
    assert served["Content-Type"] == "application/pdf"
    text = upload(client, b"line one\n<b>bold?</b>\n", name="notes.txt").json()
    served = APIClient().get(text["url"])
    assert served["Content-Type"] == "text/plain; charset=utf-8"
    assert served["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    "data,name,code,status",
    [
        # a zip is not on the default allow-list
        (b"PK\x03\x04" + b"\x00" * 60, "a.zip", "attachment_type", 415),
        # HTML named .png: sniffed as HTML, never accepted
        (b"<!DOCTYPE html><script>alert(1)</script>", "cat.png", "attachment_type", 415),
        (b"\x89PNG\r\n\x1a\nnot really", "broken.png", "attachment_invalid", 400),
        (b"\x00\x01\x02\x03binary", "blob.bin", "attachment_type", 415),
        (b"", "empty.txt", "attachment_empty", 400),
    ],
)
def test_wrong_types_and_empty_files_are_refused(data, name, code, status):
    client, _ = visitor()
    response = upload(client, data, name=name)
    assert response.status_code == status, response.content
    assert error(response) == code
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        png() + b"<script>alert(document.domain)</script>",  # HTML after IEND
        png(pnginfo=None)[:33] + b"\x00\x00\x00\x10tEXt<svg onload=x>" + png()[33:],
        b"GIF89a/*" + gif()[8:] + b"*/=alert(1)//",  # the GIF/JS polyglot
    ],
)
def test_polyglots_are_refused(data):
    client, _ = visitor()
    response = upload(client, data, name="x.gif")
    assert response.status_code == 400, response.content
    assert error(response) == "attachment_unsafe"
    assert not Attachment.objects.exists()


def test_size_limits_the_sites_then_the_servers(settings):
    site = make_site(attachment_max_bytes=1000)
    client, _ = visitor(site)
    big = upload(client, b"a" * 1001, name="big.txt")
    assert big.status_code == 413 and error(big) == "attachment_too_large"
    settings.PARLEY = {**settings.PARLEY, "ATTACHMENT_MAX_BYTES_CEILING": 500}
    # A body over the server's ceiling is refused before it is read.
    huge = upload(client, b"a" * (70 * 1024), name="huge.txt")
    assert huge.status_code == 413 and error(huge) == "attachment_too_large"
    assert not Attachment.objects.exists()


def test_the_decompression_bomb_guard(settings):
    settings.PARLEY = {**settings.PARLEY, "ATTACHMENT_MAX_PIXELS": 100}
    client, _ = visitor()
    response = upload(client, png(size=(20, 20)))
    assert response.status_code == 400 and error(response) == "attachment_unsafe"


def test_a_sites_allow_list_and_count():
    site = make_site(attachment_types=["application/pdf"], attachment_max_count=1)
    client, _ = visitor(site)
    conversation_id = started(client)
    assert error(upload(client, png())) == "attachment_type"
    pdf = b"%PDF-1.4\n%%EOF\n"
    ids = [upload(client, pdf, name=f"{i}.pdf").json()["id"] for i in range(2)]
    response = send(client, conversation_id, "c-2", ids)
    assert response.status_code == 400 and error(response) == "too_many_attachments"
    assert not Message.objects.filter(client_msg_id="c-2").exists()
    off = make_site(attachment_max_count=0)
    client, _ = visitor(off)
    assert error(upload(client, pdf, name="a.pdf")) == "attachments_disabled"


def test_ids_of_someone_else_or_sent_already_are_not_found():
    site = make_site()
    alice, _ = visitor(site)
    bob, _ = visitor(site)
    alice_conv = started(alice)
    bob_conv = started(bob)
    mine = upload(alice, png()).json()["id"]
    response = send(bob, bob_conv, "b-1", [mine])
    assert response.status_code == 404 and error(response) == "attachment_not_found"
    assert send(alice, alice_conv, "a-1", [mine], body="here").status_code == 201
    # A retry of the same client_msg_id is the same message, not a second link.
    again = send(alice, alice_conv, "a-1", [mine], body="here")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    reused = send(alice, alice_conv, "a-2", [mine])
    assert reused.status_code == 404 and error(reused) == "attachment_not_found"
    bad = send(alice, alice_conv, "a-3", ["not-a-uuid"])
    assert bad.status_code == 400 and error(bad) == "invalid_field"
    # Without a link, only the conversation's people read it: Bob gets a 404.
    assert bob.get(f"/api/v1/attachments/{mine}/file/").status_code == 404
    assert alice.get(f"/api/v1/attachments/{mine}/file/").status_code == 200


def test_expired_and_forged_links(settings):
    client, _ = visitor()
    meta = upload(client, png()).json()
    forged = meta["url"][:-3] + ("aaa" if not meta["url"].endswith("aaa") else "bbb")
    response = APIClient().get(forged)
    assert response.status_code == 403 and error(response) == "attachment_link_invalid"
    other = meta["url"].replace("/file/", "/thumbnail/")  # a file's signature for its thumb
    assert error(APIClient().get(other)) == "attachment_link_invalid"
    assert error(APIClient().get(meta["url"].split("?")[0])) == "attachment_link_invalid"
    settings.PARLEY = {**settings.PARLEY, "ATTACHMENT_URL_TTL": -1}
    response = APIClient().get(meta["url"])
    assert response.status_code == 403 and error(response) == "attachment_link_expired"


def test_a_nul_or_a_path_in_the_name_is_cleaned():
    client, _ = visitor()
    meta = upload(client, png(), name="../../etc/pa\x00ss\u202ewd.png").json()
    assert meta["name"] == "pass" + "wd.png"
    assert "\x00" not in Attachment.objects.get(pk=meta["id"]).file.name


def test_the_agent_attaches_and_sees_the_customers_files():
    site = make_site()
    client, _ = visitor(site)
    conversation_id = started(client)
    meta = upload(client, png()).json()
    send(client, conversation_id, "c-1", [meta["id"]])
    agent = make_agent()
    conversation_assign(actor=agent_actor(agent), conversation_id=conversation_id)
    console = APIClient()
    console.force_login(agent)
    # An agent of the conversation reads it without a link.
    assert console.get(f"/api/v1/attachments/{meta['id']}/file/").status_code == 200
    up = console.post(
        f"/api/v1/conversations/{conversation_id}/attachments/",
        {"file": SimpleUploadedFile("r.txt", b"your receipt\n")},
        format="multipart",
    )
    assert up.status_code == 201, up.content
    reply = conversation_actions.message_send(
        actor=agent_actor(agent),
        conversation_id=conversation_id,
        body="Here it is",
        client_msg_id="ag-1",
        attachments=[up.json()["id"]],
    )[0]
    assert reply.data["attachments"][0]["name"] == "r.txt"
    # The widget's door is the visitors': agents and API keys are told where theirs is.
    nowhere = console.post(
        "/api/v1/widget/attachments/",
        {"file": SimpleUploadedFile("r.txt", b"x\n")},
        format="multipart",
    )
    assert nowhere.status_code == 403
    assert "/api/v1/conversations/{id}/attachments/" in nowhere.json()["error"]["message"]


def test_a_message_needs_a_body_or_attachments():
    client, _ = visitor()
    conversation_id = started(client)
    response = send(client, conversation_id, "c-9", [])
    assert response.status_code == 400 and error(response) == "invalid_field"


def test_the_transcript_names_the_attachments():
    client, _ = visitor()
    conversation_id = started(client)
    meta = upload(client, png(), name="broken-drill.png").json()
    send(client, conversation_id, "c-1", [meta["id"]], body="Look")
    text = transcript_text(conversation=Conversation.objects.get(pk=conversation_id))
    assert "Look [broken-drill.png]" in text


def test_uploads_never_sent_are_purged_with_their_files(
    attachments_dir, django_capture_on_commit_callbacks
):
    client, _ = visitor()
    conversation_id = started(client)
    sent = upload(client, png()).json()["id"]
    send(client, conversation_id, "c-1", [sent])
    unsent = upload(client, png()).json()["id"]
    stored = Attachment.objects.get(pk=unsent)
    paths = [attachments_dir / stored.file.name, attachments_dir / stored.thumbnail.name]
    assert all(p.exists() for p in paths)
    with django_capture_on_commit_callbacks(execute=True):
        assert attachments_purge_unsent(older_than_seconds=3600) == 0  # still fresh
    with django_capture_on_commit_callbacks(execute=True):
        assert attachments_purge_unsent(older_than_seconds=-1) == 1
    assert list(Attachment.objects.values_list("pk", flat=True)) == [uuid.UUID(sent)]
    assert not any(p.exists() for p in paths)


def test_a_customers_erasure_deletes_their_files(django_capture_on_commit_callbacks):
    client, body = visitor()
    conversation_id = started(client)
    meta = upload(client, png()).json()
    send(client, conversation_id, "c-1", [meta["id"]])
    stored = Attachment.objects.get(pk=meta["id"])
    storage, name = stored.file.storage, stored.file.name
    assert storage.exists(name)
    customer = Customer.objects.get(pk=body["customer"]["id"])
    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(actor=agent_actor(make_agent()), customer=customer)
    assert not Attachment.objects.exists()
    assert not storage.exists(name)
    assert APIClient().get(meta["url"]).status_code == 404
    [message] = Message.objects.filter(client_msg_id="c-1")
    assert "attachments" not in message.data


def test_an_api_key_uploads_and_posts_and_cannot_forge_a_snapshot():
    client, _ = visitor()
    conversation_id = started(client)
    victim = upload(client, png()).json()["id"]
    _key, raw = api_key_create(name="crm")
    crm = APIClient()
    crm.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    up = crm.post(
        f"/api/v1/conversations/{conversation_id}/attachments/",
        {"file": SimpleUploadedFile("order.pdf", b"%PDF-1.4\n%%EOF\n")},
        format="multipart",
    )
    assert up.status_code == 201, up.content
    url = f"/api/v1/conversations/{conversation_id}/messages/"
    posted = crm.post(
        url, {"client_msg_id": "crm-1", "attachments": [up.json()["id"]]}, format="json"
    )
    assert posted.status_code == 201, posted.content
    message = posted.json()["message"]
    assert message["kind"] == "system" and message["attachments"][0]["name"] == "order.pdf"
    # A key's own data may not carry a snapshot: payloads sign the ids in it.
    forged = {"id": victim, "name": "x", "size": 1, "content_type": "image/png",
              "kind": "image", "width": 1, "height": 1, "thumbnail": True}  # fmt: skip
    refused = crm.post(
        url,
        {"client_msg_id": "crm-2", "body": "hi", "data": {"attachments": [forged]}},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "data.attachments"
    # Nor send the customer's upload as its own.
    stolen = crm.post(url, {"client_msg_id": "crm-3", "attachments": [victim]}, format="json")
    assert stolen.status_code == 404 and error(stolen) == "attachment_not_found"
