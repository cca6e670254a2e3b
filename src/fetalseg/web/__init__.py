"""fetalseg.web."""
