"""Data files of the trajectory core (a package so that wheels ship them)."""
