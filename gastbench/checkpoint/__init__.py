"""Reading the authors' original checkpoint files without executing them."""
