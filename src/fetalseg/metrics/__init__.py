"""fetalseg.metrics."""
