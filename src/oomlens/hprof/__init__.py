"""hprof layer."""
