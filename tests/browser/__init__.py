"""Browser tests: Playwright driving Debian's Chromium against the real app served by uvicorn."""
