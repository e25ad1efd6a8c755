"""What a password must not be (issue 11, "weak passwords accepted"): the one rule, used by
:func:`layers.accounts.hash_password` for every path that sets one (``POST /api/v1/users``,
``PUT /api/v1/users/{id}/password``, ``gridgis user create|passwd``).

After NIST SP 800-63B §5.1.1.2 (memorized secrets): a length rule and a block list, no
composition rules. A password is refused when

- ``length``: shorter than :data:`MIN_CHARS` (10) or longer than :data:`MAX_CHARS` characters;
- ``common``: one of the 20,000 most used passwords (``layers/common_passwords_20k.txt.gz``:
  Royce Williams's list as Django ships it, ``django/contrib/auth/common-passwords.txt.gz``,
  BSD-3-Clause, the list of Django's ``CommonPasswordValidator``) or of
  ``layers/common_passwords.txt`` (passwords common among Chinese users and the project's own
  name; see its header), compared lower-cased, also once the digits and symbols around it are
  stripped (``Password123!``), or a single character repeated, or a run of consecutive
  characters (``1234567890``, ``abcdefghij``, ``9876543210``);
- ``user_name``: equal to the user name or containing it (case-insensitive; names of 3 characters
  or more), or the name reversed;
- ``context``: little more than the product's or the city's name (:data:`CONTEXT_WORDS`:
  GridGIS, 网格通, Jiangyin, 江阴; ``GridGIS2026!``): once those names are taken out, fewer than
  :data:`CONTEXT_REST` letters remain or the rest is itself common.

Before the ``common`` and ``context`` checks a password is normalised into a few candidates
(:func:`candidates`): lower-cased, leet digits and symbols read as letters (``p@ssw0rd`` →
``password``; ``1`` as ``i`` and as ``l``), a unit repeated two or more times collapsed to
one (``passwordpassword``, ``Passw0rd!Passw0rd!``), digits and symbols around stripped. A
password that is a unit of :data:`SHORT_UNIT` characters or fewer repeated (``asdasdasdasd``,
``zaq1zaq1zaq1``) is refused as ``common`` too. No city name is configured in GridGIS today
(api/settings.py); the demo city's names are in :data:`CONTEXT_WORDS`.

:func:`password_problem` answers which rule a password breaks (a message naming the rule and the
fix) or None.
"""

from __future__ import annotations

import gzip
import itertools
import string
from functools import lru_cache
from pathlib import Path

MIN_CHARS = 10
MAX_CHARS = 1024
_LIST = Path(__file__).with_name("common_passwords.txt")
_LIST_20K = Path(__file__).with_name("common_passwords_20k.txt.gz")
_AROUND = string.digits + string.punctuation + " "
CONTEXT_WORDS = ("gridgis", "grid gis", "网格通", "jiangyin", "江阴", "江阴市")
"""The product's and the city's names (lower-case): a password must be more than these."""
CONTEXT_REST = 6
"""Letters a password must have besides :data:`CONTEXT_WORDS` (``jiangyin river at dawn`` is
fine, ``Jiangyin@2026`` is not)."""
SHORT_UNIT = 4
"""A unit this short repeated (``asdasdasd``) is refused whatever the unit."""
_LEET = (
    str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                   "$": "s", "!": "i", "8": "b", "9": "g"}),
    str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                   "$": "s", "8": "b", "9": "g"}),
)  # fmt: skip


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The block list, lower-cased (comments and blank lines skipped): both lists."""
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    lines += gzip.decompress(_LIST_20K.read_bytes()).decode("utf-8").splitlines()
    return frozenset(x.strip().lower() for x in lines if x.strip() and not x.startswith("#"))


def _is_run(text: str) -> bool:
    """One character repeated, or consecutive characters up or down (``13579`` is not)."""
    if len(set(text)) == 1:
        return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(steps) == 1 and steps <= {1, -1}


def repeated_unit(text: str) -> str | None:
    """The shortest unit that ``text`` repeats two or more times (``abcabc`` → ``abc``), else
    None."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return None


def candidates(password: str) -> set[str]:
    """The normalised forms of ``password`` that are compared with the block list: lower-cased,
    as is and with leet read as letters, a repeated unit collapsed (before and after stripping
    digits and symbols around it), stripped of digits and symbols around."""
    lowered = password.lower()
    found = {lowered}
    found |= {lowered.translate(table) for table in _LEET}
    for _ in range(2):  # collapse, strip, read leet — in either order
        more: set[str] = set()
        for text in found:
            core = text.strip(_AROUND)
            more |= {core, repeated_unit(text) or text, repeated_unit(core) or core}
        more |= {t.translate(table) for t in more for table in _LEET}
        found |= {t for t in more if t}
    return found


def _is_common(password: str) -> bool:
    lowered = password.lower()
    core = lowered.strip(_AROUND)
    listed = common_passwords()
    unit = repeated_unit(lowered)
    return (
        any(c in listed for c in candidates(password))
        or _is_run(lowered)
        or (len(core) >= 4 and _is_run(core))
        or (unit is not None and len(unit) <= SHORT_UNIT)
    )


def _is_context(password: str) -> bool:
    """Little more than the product's or the city's name (:data:`CONTEXT_WORDS`)."""
    listed = common_passwords()
    for text in candidates(password):
        if not any(word in text for word in CONTEXT_WORDS):
            continue
        rest = text
        for word in CONTEXT_WORDS:
            rest = rest.replace(word, " ")
        letters = "".join(ch for ch in rest if ch not in _AROUND)
        if len(letters) < CONTEXT_REST or letters in listed:
            return True
    return False


def password_problem(password: str, user_name: str | None = None) -> tuple[str, str] | None:
    """``(rule, message)`` of the first rule ``password`` breaks (``length``, ``common``,
    ``user_name``, ``context``; see the module's docstring), None if it is acceptable."""
    if not MIN_CHARS <= len(password) <= MAX_CHARS:
        return "length", (
            f"a password needs {MIN_CHARS} to {MAX_CHARS} characters; this one has "
            f"{len(password)} (a few words make a long password easy to remember)"
        )
    if _is_common(password):
        return "common", (
            "this password is one of the most used ones (also doubled, or with digits or "
            "symbols for letters, or a short unit repeated, or a run of one or consecutive "
            "characters) and is guessed first; choose a longer phrase of your own"
        )
    if _is_context(password):
        return "context", (
            "this password is little more than the product's or the city's name (GridGIS, "
            "网格通, Jiangyin), which are guessed first; choose a longer phrase of your own"
        )
    name = (user_name or "").strip().lower()
    lowered = password.lower()
    if name and (
        lowered == name or (len(name) >= 3 and (name in lowered or name[::-1] in lowered))
    ):
        return "user_name", (
            "a password must not be or contain the user name; choose one that has nothing of it"
        )
    return None
