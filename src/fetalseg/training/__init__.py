"""fetalseg.training."""
