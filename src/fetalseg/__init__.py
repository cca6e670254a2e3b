"""fetalseg: real-time fetal head segmentation and biometry for 2D obstetric ultrasound."""

__version__ = "0.1.0"
