"""Helpers of the browser tests."""

from __future__ import annotations

from playwright.async_api import ConsoleMessage


def csp_violation(message: ConsoleMessage, errors: list[str]) -> None:
    """Keep a console message that says the Content-Security-Policy refused something
    (Chromium logs these; they are no page errors)."""
    if "Content Security Policy" in message.text:
        errors.append(message.text)
