"""report layer: machine- and human-readable renderings of analysis results."""
