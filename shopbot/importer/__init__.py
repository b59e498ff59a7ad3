"""Catalogue CSV import: check every row and picture, then write all of it or nothing."""

from shopbot.importer.base import ImportOptions, ImportProblem, ImportReport
from shopbot.importer.core import import_catalog, import_file

__all__ = ["ImportOptions", "ImportProblem", "ImportReport", "import_catalog", "import_file"]
