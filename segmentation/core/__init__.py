"""Basics every stage shares: errors, labels, parameter constraints, paths, text, one HTTP client."""
