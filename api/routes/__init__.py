"""One router per resource. Every module here that defines ``router`` is mounted by the app."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules_with(package: str, attribute: str) -> list[ModuleType]:
    """The modules of ``package`` (sorted by name) that define ``attribute``."""
    pkg = importlib.import_module(package)
    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package}.{info.name}")
        if hasattr(module, attribute):
            found.append(module)
    return found
