"""Reads an admin change page the way a browser does: the values its form would submit and
the text of its textareas, so that tests post back exactly what a supervisor would."""

from __future__ import annotations

from html.parser import HTMLParser

_NOT_SENT = {"submit", "button", "image", "reset", "file"}


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self.textareas: dict[str, dict] = {}  # by id: {"name", "text", "attrs"}
        self._form = False
        self._textarea: dict | None = None
        self._select: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            # The change form, not the header's logout form.
            self._form = (a.get("id") or "").endswith("_form") and a.get("id") != "logout-form"
        elif tag == "textarea":
            self._textarea = {"name": a.get("name"), "text": "", "attrs": a}
        elif not self._form:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in _NOT_SENT or (kind in ("checkbox", "radio") and "checked" not in a):
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.fields.append((a["name"], a.get("value", default)))
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "multiple": "multiple" in a, "options": []}
        elif tag == "option" and self._select is not None:
            self._select["options"].append((a.get("value", ""), "selected" in a))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = False
        elif tag == "textarea" and self._textarea is not None:
            # The HTML parser drops one newline right after <textarea>, as Django writes it.
            text = self._textarea["text"]
            self._textarea["text"] = text[1:] if text.startswith("\n") else text
            key = self._textarea["attrs"].get("id") or self._textarea["name"]
            self.textareas[key] = self._textarea
            if self._form and self._textarea["name"]:
                self.fields.append((self._textarea["name"], self._textarea["text"]))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._select["options"] if selected]
            if not chosen and not self._select["multiple"] and self._select["options"]:
                chosen = [self._select["options"][0][0]]
            self.fields.extend((self._select["name"], v) for v in chosen)
            self._select = None


def read(html: str) -> _FormReader:
    reader = _FormReader()
    reader.feed(html)
    return reader


def form_data(html: str) -> dict[str, list[str]]:
    """What submitting the change form unchanged would post."""
    data: dict[str, list[str]] = {}
    for name, value in read(html).fields:
        data.setdefault(name, []).append(value)
    return data


def textarea(html: str, id_: str) -> dict:
    """{"name", "text", "attrs"} of the textarea with that id, its text as a browser shows it."""
    return read(html).textareas[id_]
