"""Wiring: config, the round loop, the HTTP API, the CLI."""
