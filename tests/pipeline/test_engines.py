"""Engine contract tests: the HTTP engines against a local stub server speaking their
APIs, the fake engine's determinism, Argos's absence, and engine selection."""

from __future__ import annotations

import socket

import pytest

from chat.pipeline.engines import (
    ArgosEngine,
    DeepLEngine,
    EngineError,
    FakeEngine,
    LibreTranslateEngine,
    argos_installed,
    engine_name,
    get_engine,
)
from chat.pipeline.health import health_record, translation_status, translation_working


# --- LibreTranslate ---------------------------------------------------------------------------
def test_libretranslate_request_and_answer(stub):
    engine = LibreTranslateEngine(stub.url + "/", api_key="k-123", timeout=5)
    assert engine.translate("Où est ma commande ?", source="fr", target="en") == (
        "<en> Où est ma commande ?"
    )
    [request] = stub.requests
    assert request["path"] == "/translate"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {
        "q": "Où est ma commande ?",
        "source": "fr",
        "target": "en",
        "format": "text",
        "api_key": "k-123",
    }


def test_libretranslate_without_a_key_sends_none(stub):
    LibreTranslateEngine(stub.url).translate("hi", source="en", target="fr")
    assert "api_key" not in stub.requests[0]["json"]


@pytest.mark.parametrize(
    ("status", "transient"),
    [(400, False), (403, False), (429, True), (500, True), (503, True)],
)
def test_libretranslate_errors_say_whether_to_retry(stub, status, transient):
    stub.fail_status = status
    stub.fail_body = '{"error": "fr is not supported"}'
    with pytest.raises(EngineError) as caught:
        LibreTranslateEngine(stub.url).translate("x", source="fr", target="en")
    assert caught.value.transient is transient
    assert f"HTTP {status}" in str(caught.value) and "fr is not supported" in str(caught.value)


def test_libretranslate_bad_answers_are_transient_errors(stub):
    stub.raw_body = b"<html>proxy error</html>"
    with pytest.raises(EngineError, match="invalid JSON") as caught:
        LibreTranslateEngine(stub.url).translate("x", source="fr", target="en")
    assert caught.value.transient
    stub.raw_body = b'{"something": "else"}'
    with pytest.raises(EngineError, match="translatedText"):
        LibreTranslateEngine(stub.url).translate("x", source="fr", target="en")


def test_an_unreachable_or_slow_engine_is_a_transient_error(stub):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineError, match="cannot reach") as caught:
        LibreTranslateEngine(f"http://127.0.0.1:{port}").translate("x", source="fr", target="en")
    assert caught.value.transient
    stub.delay = 1.0
    with pytest.raises(EngineError) as caught:
        LibreTranslateEngine(stub.url, timeout=0.2).translate("x", source="fr", target="en")
    assert caught.value.transient


# --- DeepL --------------------------------------------------------------------------------------
def test_deepl_request_and_answer(stub):
    engine = DeepLEngine("secret-key:fx", url=stub.url + "/v2/translate", timeout=5)
    assert engine.translate("Bonjour", source="fr", target="en") == "<EN-GB> Bonjour"
    assert engine.translate("Hello", source="en", target="de") == "<DE> Hello"
    request = stub.requests[0]
    assert request["path"] == "/v2/translate"
    assert request["headers"]["Authorization"] == "DeepL-Auth-Key secret-key:fx"
    assert request["json"] == {"text": ["Bonjour"], "source_lang": "FR", "target_lang": "EN-GB"}


def test_deepl_picks_the_free_or_pro_host_from_the_key():
    assert DeepLEngine("abc:fx").url == "https://api-free.deepl.com/v2/translate"
    assert DeepLEngine("abc").url == "https://api.deepl.com/v2/translate"


@pytest.mark.parametrize(
    ("status", "transient"), [(403, False), (456, True), (429, True), (500, True)]
)
def test_deepl_errors(stub, status, transient):
    stub.fail_status = status
    stub.fail_body = '{"message": "Quota exceeded"}'
    with pytest.raises(EngineError) as caught:
        DeepLEngine("k", url=stub.url + "/v2/translate").translate("x", source="fr", target="en")
    assert caught.value.transient is transient
    assert "Quota exceeded" in str(caught.value)


def test_deepl_answer_without_translations_is_an_error(stub):
    stub.raw_body = b'{"translations": []}'
    with pytest.raises(EngineError, match="without translations"):
        DeepLEngine("k", url=stub.url + "/v2/translate").translate("x", source="fr", target="en")


# --- fake and Argos -----------------------------------------------------------------------------
def test_the_fake_engine_is_deterministic():
    engine = FakeEngine()
    assert engine.translate("Bonjour, où est ma commande ?", source="fr", target="en") == (
        "Hello, where is my order?"
    )
    assert engine.translate("Your parcel will arrive tomorrow.", source="en", target="fr") == (
        "Votre colis arrivera demain."
    )
    first = engine.translate("Quelque chose d'autre", source="fr", target="de")
    assert first == "[fr→de] Quelque chose d'autre"
    assert engine.translate("Quelque chose d'autre", source="fr", target="de") == first


@pytest.mark.skipif(argos_installed(), reason="Argos is installed here; this checks its absence")
def test_argos_without_the_package_is_a_permanent_error():
    with pytest.raises(EngineError, match="not installed") as caught:
        ArgosEngine().translate("Bonjour", source="fr", target="en")
    assert caught.value.transient is False


# --- selection ------------------------------------------------------------------------------------
def test_engine_selection_from_settings(pipeline_settings, stub):
    pipeline_settings(TRANSLATION_ENGINE="off")
    assert get_engine() is None
    assert translation_status()["enabled"] is False
    pipeline_settings(TRANSLATION_ENGINE="fake")
    assert isinstance(get_engine(), FakeEngine)
    assert translation_status() == {
        "enabled": True, "engine": "fake", "state": "ready", "reason": None
    }  # fmt: skip
    pipeline_settings(TRANSLATION_ENGINE="libretranslate", LIBRETRANSLATE_URL=stub.url)
    assert isinstance(get_engine(), LibreTranslateEngine)
    pipeline_settings(TRANSLATION_ENGINE="deepl", DEEPL_API_KEY="k:fx")
    assert isinstance(get_engine(), DeepLEngine)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"TRANSLATION_ENGINE": "off"}, "no translation engine is configured"),
        ({"TRANSLATION_ENGINE": "deepl", "DEEPL_API_KEY": ""}, "DEEPL_API_KEY is not set"),
        (
            {"TRANSLATION_ENGINE": "libretranslate", "LIBRETRANSLATE_URL": ""},
            "LIBRETRANSLATE_URL is not set",
        ),
        ({"TRANSLATION_ENGINE": "bogus"}, "TRANSLATION_ENGINE=bogus is not one of"),
    ],
)
def test_an_engine_that_cannot_run_is_off_and_says_why(pipeline_settings, overrides, reason):
    pipeline_settings(**overrides)
    assert get_engine() is None  # nothing is queued for an engine that cannot run
    assert engine_name() == "off"
    status = translation_status()
    assert status["enabled"] is False and status["state"] in ("off", "unavailable")
    assert reason in status["reason"]
    assert not translation_working()


@pytest.mark.skipif(argos_installed(), reason="Argos is installed here; this checks its absence")
def test_argos_without_the_package_is_unavailable_with_the_reason(pipeline_settings):
    """The issue's case: TRANSLATION_ENGINE=argos without Argos used to say "enabled"."""
    pipeline_settings(TRANSLATION_ENGINE="argos")
    assert translation_status() == {
        "enabled": False,
        "engine": "argos",
        "state": "unavailable",
        "reason": "TRANSLATION_ENGINE=argos but argostranslate is not installed",
    }


def test_a_failing_engine_is_unavailable_until_it_answers_again(pipeline_settings, stub):
    pipeline_settings(TRANSLATION_ENGINE="libretranslate", LIBRETRANSLATE_URL=stub.url)
    assert translation_working()
    health_record(engine="libretranslate", error="HTTP 503: overloaded")
    status = translation_status()
    assert status["state"] == "unavailable" and status["enabled"] is True
    assert "HTTP 503: overloaded" in status["reason"]
    assert not translation_working()
    health_record(engine="libretranslate", error=None)
    assert translation_status()["state"] == "ready"


def test_auto_prefers_a_configured_http_engine_then_argos_then_off(pipeline_settings, stub):
    pipeline_settings(TRANSLATION_ENGINE="auto", LIBRETRANSLATE_URL="", DEEPL_API_KEY="")
    assert engine_name() == ("argos" if argos_installed() else "off")
    pipeline_settings(TRANSLATION_ENGINE="auto", DEEPL_API_KEY="k")
    assert engine_name() == "deepl"
    pipeline_settings(TRANSLATION_ENGINE="auto", LIBRETRANSLATE_URL=stub.url)
    assert engine_name() == "libretranslate"
