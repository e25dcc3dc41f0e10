"""Demo backends for the standalone quickstart and the end-to-end tests."""
