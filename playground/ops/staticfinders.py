"""Serve ``plotly/plotly.min.js`` from the installed plotly package (its ``package_data``), so
the page needs no CDN and the repository holds no copy of plotly.js. Only that one file is
exposed (the package also carries datasets and a 5 MB widget bundle we do not want)."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PACKAGE_DATA = Path(plotly.__file__).resolve().parent / "package_data"
PREFIX = "plotly"
FILENAME = "plotly.min.js"
STATIC_PATH = f"{PREFIX}/{FILENAME}"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(PACKAGE_DATA))
        self.storage.prefix = PREFIX  # collectstatic puts the file under plotly/

    def check(self, **kwargs):
        from django.core.checks import Error

        if not (PACKAGE_DATA / FILENAME).is_file():
            return [
                Error(
                    f"{PACKAGE_DATA / FILENAME} is missing: reinstall plotly", id="playground.E001"
                )
            ]
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        if path.replace("\\", "/") != STATIC_PATH:
            return []
        match = str(PACKAGE_DATA / FILENAME)
        return [match] if find_all else match

    def list(self, ignore_patterns):
        yield FILENAME, self.storage
