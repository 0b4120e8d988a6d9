"""Driving the dashboard in a real browser: Playwright for Python with Debian's Chromium
(`make test` installs both; Playwright's own browser download is never used).

Screenshots go to test-artifacts/screenshots/ (kept by CI as artifacts, ignored by git).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is needed for the dashboard tests: `make test` installs it "
                    "(scripts/install-system-deps.sh), or run `apt-get install chromium`")
    return path


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                      args=["--no-sandbox", "--disable-dev-shm-usage"])


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, base_url: str, key: str, next_path: str = "/") -> None:
    """Log in through the form, as a person does."""
    page.goto(f"{base_url}/login?next={next_path}")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


class ScriptErrors:
    """Every script error, Content-Security-Policy violation, failed script/style/image/fetch and
    dialog (e.g. alert() from an injected script) of a page: a test asserts there are none. Pages
    themselves may answer 4xx (a refused login), which the browser logs but is not an error."""

    def __init__(self, page):
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.messages.append(str(e)))
        page.on("dialog", lambda d: (self.messages.append(f"dialog: {d.message}"),
                                     d.dismiss()))
        page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.messages.append(message.text)

    def _response(self, response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.messages.append(f"{response.status} {response.url}")
