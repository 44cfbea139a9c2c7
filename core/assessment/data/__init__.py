"""Bundled map data of the assessment: the land and EEZ grid of the north-west Pacific (docs/map-data.md)."""
