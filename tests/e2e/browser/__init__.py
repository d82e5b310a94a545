"""Browser tests of the admin page (Chromium driven by playwright-core from Node)."""
