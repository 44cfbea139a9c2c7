"""Offline analysis beside the data flow: replay and recording of scenarios, and scoring of the recorded
picture against the truth. Nothing on the live path imports it."""
