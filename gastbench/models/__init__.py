"""Built-in GAST-Net lifters (filled in by the models work)."""
