"""fetalseg.cli."""
