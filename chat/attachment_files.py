"""What an uploaded file really is, and the copy of it Parley keeps: no database here.

The type comes from the bytes, never from the client's name or Content-Type: Pillow decides
for images (it must decode them anyway), puremagic's signatures for other files, and a
strict UTF-8 check for plain text. Markup is never accepted (text/html, SVG, XML): Parley
must never serve anything a browser could run from its own origin. An image that also
carries markup or script (a polyglot, e.g. an HTML page in a PNG chunk, a GIF that is also
JavaScript) is refused, and every accepted image is re-encoded, which drops whatever rode
along (metadata, appended payloads) and applies its EXIF orientation.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

import puremagic
from django.core.exceptions import ValidationError as DjangoValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

from chat.exceptions import ValidationError

# The types an allow-list may name: content type -> (kind, file name extensions).
KNOWN_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "image/png": ("image", (".png",)),
    "image/jpeg": ("image", (".jpg", ".jpeg")),
    "image/gif": ("image", (".gif",)),
    "image/webp": ("image", (".webp",)),
    "application/pdf": ("file", (".pdf",)),
    "text/plain": ("file", (".txt", ".csv", ".log")),
    "application/zip": ("file", (".zip",)),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "file",
        (".docx",),
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("file", (".xlsx",)),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "file",
        (".pptx",),
    ),
    "audio/mpeg": ("file", (".mp3",)),
    "video/mp4": ("file", (".mp4",)),
}
PILLOW_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
MAX_FRAMES = 300

# Markup a browser would run if it ever rendered these bytes as a page or an SVG.
MARKUP = re.compile(
    rb"<\s*(?:script|html|body|head|iframe|svg|object|embed|meta|style|link|form|img|a\s|"
    rb"!doctype|\?xml)|<\?php|javascript:",
    re.IGNORECASE,
)
# What the WHATWG sniffing algorithm takes for HTML/XML at the start of a file.
LOOKS_LIKE_MARKUP = re.compile(
    rb"^\s*<(?:!doctype|html|head|script|iframe|h1|div|font|table|a[\s>]|style|title|b[\s>]|"
    rb"body|br|p[\s>]|!--|\?xml|svg)",
    re.IGNORECASE,
)


def unsafe(message: str) -> ValidationError:
    return ValidationError(message, code="attachment_unsafe", field="file")


@dataclass(frozen=True)
class Processed:
    content_type: str
    kind: str
    data: bytes  # what is stored (an image re-encoded)
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None  # WebP


def validate_types(value) -> None:
    """A site's allow-list in admin: a list of known content types."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DjangoValidationError("A list of content types.")
    unknown = sorted(set(value) - set(KNOWN_TYPES))
    if unknown:
        raise DjangoValidationError(
            f"Unknown types: {', '.join(unknown)}. Known: {', '.join(sorted(KNOWN_TYPES))}."
        )


def clean_name(raw: object) -> str:
    """A display name safe anywhere: no path, no control or bidi-override characters (a
    U+202E can make "gpj.exe" read "exe.jpg"), at most 200 characters."""
    name = raw if isinstance(raw, str) else ""
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + "." + ext[:9]) if dot and len(ext) <= 9 else name[:200]
    return name or "file"


def name_for_type(name: str, content_type: str) -> str:
    """The name ends with an extension of the sniffed type (a PDF named .png becomes
    "x.png.pdf"), so a download opens with the right program."""
    extensions = KNOWN_TYPES[content_type][1]
    if name.lower().endswith(extensions):
        return name
    return (name[: 200 - len(extensions[0])] + extensions[0]) if extensions else name


def _looks_like_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    controls = sum(
        1 for ch in text[:4096] if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f"
    )
    return controls == 0


def sniff(data: bytes, name: str) -> str:
    """The content type of ``data``: a KNOWN_TYPES key, "text/html" for markup (never
    allowed), or "application/octet-stream" when nothing matches."""
    head = data[:4096]
    if LOOKS_LIKE_MARKUP.match(head):
        return "text/html"
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format in PILLOW_FORMATS:
                return PILLOW_FORMATS[probe.format]
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        pass
    try:
        candidates = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        candidates = []
    known = [c for c in candidates if c.mime_type in KNOWN_TYPES]
    lowered = name.lower()
    for c in known:  # a zip container matches docx, xlsx and pptx alike: the name decides
        if c.extension and lowered.endswith(c.extension):
            return c.mime_type
    if known:
        return known[0].mime_type
    if candidates:
        return "application/octet-stream"
    if _looks_like_text(data):
        return "text/plain"
    return "application/octet-stream"


def check_polyglot(data: bytes, content_type: str) -> None:
    """Refuse an image that also carries markup or script. (Text is served as a
    text/plain download under nosniff: markup in it is inert, and common in logs.)"""
    if content_type == "image/gif" and data[6:8] == b"/*":
        # A GIF whose size bytes open a JavaScript comment: the GIF/JS polyglot trick.
        raise unsafe("This GIF is also a script; it was refused.")
    if KNOWN_TYPES[content_type][0] == "image" and MARKUP.search(data):
        raise unsafe("This file carries HTML or script; it was refused.")


def process_image(data: bytes, content_type: str, *, max_pixels: int, thumb: int) -> Processed:
    """Decode with the decompression-bomb guard, re-encode without metadata (orientation
    applied), and make a WebP thumbnail."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            frames = getattr(img, "n_frames", 1)
            if width * height > max_pixels or frames > MAX_FRAMES:
                raise unsafe(
                    f"The image is too large to open ({width} x {height} pixels, {frames} frames)."
                )
            img.load()
            out = io.BytesIO()
            fmt = img.format
            if frames > 1:
                img.save(out, format=fmt, save_all=True, optimize=False)
                first = img.copy()
            else:
                first = ImageOps.exif_transpose(img)
                if fmt == "JPEG":
                    first = first.convert("RGB") if first.mode not in ("RGB", "L") else first
                    first.save(out, format="JPEG", quality=92)
                else:
                    first.save(out, format=fmt)
            width, height = first.size
            small = first.convert("RGBA") if first.mode not in ("RGB", "RGBA", "L") else first
            small = small.copy()
            small.thumbnail((thumb, thumb))
            thumb_out = io.BytesIO()
            small.save(thumb_out, format="WEBP", quality=80)
    except Image.DecompressionBombError as exc:
        raise unsafe("The image is too large to open.") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ValidationError(
            "The image could not be read.", code="attachment_invalid", field="file"
        ) from exc
    return Processed(
        content_type=content_type,
        kind="image",
        data=out.getvalue(),
        width=width,
        height=height,
        thumbnail=thumb_out.getvalue(),
    )


def process(data: bytes, content_type: str, *, max_pixels: int, thumb: int) -> Processed:
    check_polyglot(data, content_type)
    if KNOWN_TYPES[content_type][0] == "image":
        return process_image(data, content_type, max_pixels=max_pixels, thumb=thumb)
    return Processed(content_type=content_type, kind="file", data=data)
