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
  or more), or the name reversed.

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


def _is_common(password: str) -> bool:
    lowered = password.lower()
    core = lowered.strip(_AROUND)
    listed = common_passwords()
    return (
        lowered in listed
        or core in listed
        or _is_run(lowered)
        or (len(core) >= 4 and _is_run(core))
    )


def password_problem(password: str, user_name: str | None = None) -> tuple[str, str] | None:
    """``(rule, message)`` of the first rule ``password`` breaks (``length``, ``common``,
    ``user_name``; see the module's docstring), None if it is acceptable."""
    if not MIN_CHARS <= len(password) <= MAX_CHARS:
        return "length", (
            f"a password needs {MIN_CHARS} to {MAX_CHARS} characters; this one has "
            f"{len(password)} (a few words make a long password easy to remember)"
        )
    if _is_common(password):
        return "common", (
            "this password is one of the most used ones (or a run of one or consecutive "
            "characters) and is guessed first; choose a longer phrase of your own"
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
