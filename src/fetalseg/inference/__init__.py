"""fetalseg.inference."""
