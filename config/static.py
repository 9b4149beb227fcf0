"""Static files: compressed and hashed by collectstatic, served by WhiteNoise.

ES modules import one another by relative path ("./state.js"); Django rewrites those
imports to the hashed names (``support_js_module_import_aggregation``), so the whole module
graph is cached for a year and a release changes every URL it touches. Only the loader a
site embeds (parley/widget.js) keeps its plain name, with a short max-age.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            # Not collected (development and tests serve through the finders): the plain name.
            return name


def collected_is_stale() -> bool:
    """Whether ``collectstatic`` must run before serving without the finders: nothing
    collected yet, or a source file changed since (a checkout, an upgrade). Compressing
    takes half a minute here, so ``runparley`` runs it only then."""
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return True
    collected_at = manifest.stat().st_mtime
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            if Path(storage.path(path)).stat().st_mtime > collected_at:
                return True
    return False
