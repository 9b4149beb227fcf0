"""runparley collects the static files in production mode when they are missing or older
than their sources (a new-user probe: DEBUG=false served no widget at all)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings

from config.static import collected_is_stale

SOURCE = Path(settings.BASE_DIR) / "static" / "parley" / "widget.js"


def test_nothing_collected_is_stale(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    assert collected_is_stale()


def test_a_manifest_newer_than_every_source_is_not_stale_and_a_changed_source_is(
    settings, tmp_path
):
    settings.STATIC_ROOT = tmp_path
    manifest = tmp_path / "staticfiles.json"
    manifest.write_text("{}")
    newest = time.time() + 3600  # after every source file in the checkout
    os.utime(manifest, (newest, newest))
    assert not collected_is_stale()
    # A source edited after the collection (here: the manifest dated before the widget).
    before = SOURCE.stat().st_mtime - 10
    os.utime(manifest, (before, before))
    assert collected_is_stale()
