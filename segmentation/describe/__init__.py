"""Segments to words: keywords, segment descriptions, names from a language model, downloads."""
