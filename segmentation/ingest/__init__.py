"""Files in: formats and readers, column detection, the cleaned Comments, kept uploads."""
