"""``python -m oomlens`` runs the command line."""

from oomlens.cli.main import entry_point

entry_point()
