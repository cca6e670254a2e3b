"""fetalseg.data."""
