"""fetalseg.losses."""
