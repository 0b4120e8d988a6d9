"""One module per ``oomlens`` command."""
