"""Static files: compressed and hashed by collectstatic, served by WhiteNoise.

ES modules import one another by relative path ("./state.js"); Django rewrites those
imports to the hashed names (``support_js_module_import_aggregation``), so the whole module
graph is cached for a year and a release changes every URL it touches. Only the loader a
site embeds (parley/widget.js) keeps its plain name, with a short max-age.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            # Not collected (development and tests serve through the finders): the plain name.
            return name
