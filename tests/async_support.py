"""Running a coroutine from a synchronous test.

``asyncio.run`` refuses to start inside a running event loop, and Playwright's sync API keeps one
running in the main thread for as long as the session's browser fixture lives: a test that calls
``asyncio.run`` passes alone and fails after the first browser test. :func:`run_async` runs the
coroutine in a thread of its own, with its own loop.
"""

from __future__ import annotations

from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run_async"]


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` in a fresh thread; its result, or its exception re-raised."""
    import asyncio

    with ThreadPoolExecutor(1, thread_name_prefix="test-loop") as pool:
        return pool.submit(asyncio.run, coroutine).result()
