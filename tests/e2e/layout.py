"""Measuring a page's width the way a reader sees it, once its charts have followed the screen."""

from __future__ import annotations

import contextlib

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

# Two animation frames: the layout after a viewport change has been computed.
SETTLED = (
    """() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"""
)


def settled_scroll_width(page: Page, width: int) -> int:
    """The page's scroll width at a ``width`` px viewport, after a change of viewport settles.

    A chart (Chart.js) redraws for a new width a few frames after the
    viewport changes, on its resize observer: until then its canvas keeps the
    old width. A page that is still too wide after two seconds is too wide.
    """
    page.evaluate(SETTLED)
    if page.evaluate("document.documentElement.scrollWidth") > width:
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(
                "(width) => document.documentElement.scrollWidth <= width", arg=width, timeout=2_000
            )
    scroll: int = page.evaluate("document.documentElement.scrollWidth")
    return scroll
