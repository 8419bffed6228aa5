"""Extractors: one module per source format, each turning bytes into Grids (and text blocks)."""
