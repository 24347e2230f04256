"""The JSON API (under /api): everything the web app does, for scripts."""
