"""Builders of tiny models for tests: each writes a Hub-style folder that the app loads for real."""
