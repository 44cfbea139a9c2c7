"""The scenario catalog: TOML files describing launches and the sensors that take part."""
