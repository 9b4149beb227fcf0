"""Translation engines behind one small interface.

An engine has a ``name`` and ``translate(text, source=, target=) -> str``; it raises
``EngineError`` (``transient=True`` when a later try may work: timeouts, 429, 5xx, quota)
and never anything else. Which one runs is a setting (``TRANSLATION_ENGINE``):

- ``argos``: Argos Translate, local and offline, with the models the operator installed
  (imported lazily: the package is optional and heavy).
- ``libretranslate``: a LibreTranslate server over HTTP (``LIBRETRANSLATE_URL``).
- ``deepl``: the DeepL API over HTTP (``DEEPL_API_KEY``).
- ``fake``: deterministic, for tests and demos; no network, no models.
- ``off``: no translation; ``auto`` (the default) picks LibreTranslate or DeepL when
  configured, else Argos when it is installed, else off.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import urllib.error
import urllib.request
from typing import Protocol

from chat.pipeline import conf

ENGINE_NAMES = ("auto", "off", "argos", "libretranslate", "deepl", "fake")


class EngineError(Exception):
    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class TranslationEngine(Protocol):
    name: str

    def translate(self, text: str, *, source: str, target: str) -> str: ...


# --- fake ---------------------------------------------------------------------------------
FAKE_PHRASEBOOK: dict[tuple[str, str], dict[str, str]] = {
    ("fr", "en"): {
        "bonjour": "Hello",
        "bonjour, où est ma commande ?": "Hello, where is my order?",
        "je n'ai toujours pas reçu mon colis.": "I still have not received my parcel.",
        "merci beaucoup !": "Thank you very much!",
        "merci": "Thank you",
        "au revoir": "Goodbye",
    },
    ("en", "fr"): {
        "hello": "Bonjour",
        "hello! let me check your order.": "Bonjour ! Je vérifie votre commande.",
        "your parcel will arrive tomorrow.": "Votre colis arrivera demain.",
        "thank you": "Merci",
        "you're welcome!": "Je vous en prie !",
        "goodbye": "Au revoir",
    },
}


class FakeEngine:
    """Deterministic: a small phrasebook for the demo, else the text tagged with the pair
    ('[fr→en] …'). Same input, same output, in every process."""

    name = "fake"

    def translate(self, text: str, *, source: str, target: str) -> str:
        if source == target:
            return text
        known = FAKE_PHRASEBOOK.get((source, target), {}).get(text.strip().lower())
        return known if known is not None else f"[{source}→{target}] {text}"


# --- HTTP engines ---------------------------------------------------------------------------
def _post_json(url: str, body: dict, *, headers: dict[str, str], timeout: float) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise _http_error(exc.code, detail) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EngineError(f"cannot reach {url}: {reason}", transient=True) from exc
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise EngineError("the engine answered with invalid JSON", transient=True) from exc
    if not isinstance(data, dict):
        raise EngineError("the engine answered with unexpected JSON", transient=True)
    return data


def _http_error(status: int, detail: str) -> EngineError:
    try:
        message = json.loads(detail).get("error") or json.loads(detail).get("message") or detail
    except (ValueError, AttributeError):
        message = detail
    # 429 (slow down), 456 (DeepL quota, resets) and 5xx may work later; other 4xx won't
    # (bad key, unsupported language pair) until an operator changes something.
    transient = status in (408, 429, 456) or status >= 500
    return EngineError(f"HTTP {status}: {message}".strip(), transient=transient)


class LibreTranslateEngine:
    """POST {url}/translate {"q", "source", "target", "format": "text", "api_key"?}
    → {"translatedText"}."""

    name = "libretranslate"

    def __init__(self, url: str, *, api_key: str = "", timeout: float = 10.0) -> None:
        self.url = url.rstrip("/") + "/translate"
        self.api_key = api_key
        self.timeout = timeout

    def translate(self, text: str, *, source: str, target: str) -> str:
        body = {"q": text, "source": source, "target": target, "format": "text"}
        if self.api_key:
            body["api_key"] = self.api_key
        data = _post_json(self.url, body, headers={}, timeout=self.timeout)
        translated = data.get("translatedText")
        if not isinstance(translated, str):
            raise EngineError("LibreTranslate answered without translatedText", transient=True)
        return translated


# DeepL wants a variant for some targets ("EN" alone is deprecated).
DEEPL_TARGETS = {"en": "EN-GB", "pt": "PT-PT"}


class DeepLEngine:
    """POST /v2/translate with ``Authorization: DeepL-Auth-Key <key>``,
    {"text": [..], "source_lang", "target_lang"} → {"translations": [{"text"}]}."""

    name = "deepl"

    def __init__(self, api_key: str, *, url: str = "", timeout: float = 10.0) -> None:
        self.api_key = api_key
        # Free-plan keys end in ":fx" and have their own host.
        host = "https://api-free.deepl.com" if api_key.endswith(":fx") else "https://api.deepl.com"
        self.url = url or f"{host}/v2/translate"
        self.timeout = timeout

    def translate(self, text: str, *, source: str, target: str) -> str:
        body = {
            "text": [text],
            "source_lang": source.split("-")[0].upper(),
            "target_lang": DEEPL_TARGETS.get(target.lower(), target.upper()),
        }
        data = _post_json(
            self.url,
            body,
            headers={"Authorization": f"DeepL-Auth-Key {self.api_key}"},
            timeout=self.timeout,
        )
        try:
            translated = data["translations"][0]["text"]
        except (KeyError, IndexError, TypeError) as exc:
            raise EngineError("DeepL answered without translations", transient=True) from exc
        if not isinstance(translated, str):
            raise EngineError("DeepL answered without translations", transient=True)
        return translated


# --- Argos ---------------------------------------------------------------------------------
@functools.cache
def argos_installed() -> bool:
    # Once per process: every message's payload asks which engine is in effect, and the
    # import system's search cost ~0.5 ms a send (docs/benchmarks.md). Installing Argos
    # needs a restart to be seen, as any new package does.
    return importlib.util.find_spec("argostranslate") is not None


class ArgosEngine:
    """Argos Translate with the models installed on this machine (see the README). The
    import is lazy: it loads CTranslate2 and friends, which only the worker needs."""

    name = "argos"

    def translate(self, text: str, *, source: str, target: str) -> str:
        try:
            from argostranslate import translate as argos
        except ImportError as exc:
            raise EngineError("argostranslate is not installed", transient=False) from exc
        installed = {lang.code: lang for lang in argos.get_installed_languages()}
        if source not in installed or target not in installed:
            raise EngineError(f"no Argos model installed for {source}→{target}", transient=False)
        translation = installed[source].get_translation(installed[target])
        if translation is None:
            raise EngineError(f"no Argos model installed for {source}→{target}", transient=False)
        try:
            return translation.translate(text)
        except Exception as exc:  # a model failing at run time: report, don't crash the task
            raise EngineError(f"Argos failed: {exc.__class__.__name__}", transient=True) from exc


# --- selection ------------------------------------------------------------------------------
def configured_engine() -> str:
    """The engine the settings ask for, 'auto' resolved ('off' when none); it may be
    unable to run (engine_problem says why)."""
    name = str(conf.cfg("TRANSLATION_ENGINE") or "off").strip().lower()
    if name in ("", "none"):
        return "off"
    if name == "auto":
        if conf.cfg("LIBRETRANSLATE_URL"):
            return "libretranslate"
        if conf.cfg("DEEPL_API_KEY"):
            return "deepl"
        return "argos" if argos_installed() else "off"
    return name


def engine_problem(name: str) -> str | None:
    """Why the configured engine cannot run at all, found without calling it; None if it
    can (whether it answers is the health's business: chat.pipeline.health)."""
    if name not in ENGINE_NAMES:
        return f"TRANSLATION_ENGINE={name} is not one of {', '.join(ENGINE_NAMES)}"
    if name == "argos" and not argos_installed():
        return "TRANSLATION_ENGINE=argos but argostranslate is not installed"
    if name == "libretranslate" and not conf.cfg("LIBRETRANSLATE_URL"):
        return "TRANSLATION_ENGINE=libretranslate but LIBRETRANSLATE_URL is not set"
    if name == "deepl" and not conf.cfg("DEEPL_API_KEY"):
        return "TRANSLATION_ENGINE=deepl but DEEPL_API_KEY is not set"
    return None


def engine_name() -> str:
    """The engine in effect: 'off' when none is configured or the configured one cannot
    run (then messages say "translation": "off" and nothing is queued for it)."""
    name = configured_engine()
    return "off" if name == "off" or engine_problem(name) else name


def get_engine() -> TranslationEngine | None:
    """The engine in effect, or None when translation is off or cannot run."""
    name = engine_name()
    timeout = float(conf.cfg("TRANSLATION_TIMEOUT"))
    if name == "off":
        return None
    if name == "fake":
        return FakeEngine()
    if name == "argos":
        return ArgosEngine()
    if name == "libretranslate":
        return LibreTranslateEngine(
            conf.cfg("LIBRETRANSLATE_URL"),
            api_key=conf.cfg("LIBRETRANSLATE_API_KEY"),
            timeout=timeout,
        )
    return DeepLEngine(conf.cfg("DEEPL_API_KEY"), url=conf.cfg("DEEPL_API_URL"), timeout=timeout)
