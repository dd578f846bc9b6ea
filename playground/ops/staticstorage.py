"""Static files in production: ``manage.py collectstatic`` writes each file twice, under its
own name and under a name with a hash of its content (``plotly.min.<hash>.js``), plus a gzip
copy of each, and a manifest; templates then link the hashed names, which WhiteNoise serves
with ``Cache-Control: max-age=315360000, public, immutable`` (a new deploy changes the name,
so a browser never keeps a stale file). Plain names are still served, for 60 s.

Before collectstatic has run (no manifest: the in-process tests, a first ``./run``), names
stay plain and WhiteNoise serves the files from the finders, as in embedded mode."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name: str) -> str:
        if not self.hashed_files:  # no manifest yet: collectstatic has not run
            return name
        return super().stored_name(name)
