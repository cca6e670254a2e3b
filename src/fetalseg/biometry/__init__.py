"""fetalseg.biometry."""
