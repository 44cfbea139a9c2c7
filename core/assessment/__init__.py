"""Assessment of a system track: flight phase, missile class, launch and impact point, threatened areas and
the warning lifecycle."""
