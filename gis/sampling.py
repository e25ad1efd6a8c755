"""Reproducible random draws (双随机): targets and inspectors picked by a published seed.

The draw is a pure function of (seed, sorted candidate ids, counts, conflicts): anyone with
the recorded inputs re-runs it and gets the same answer. The generator is numpy's PCG64 seeded
with the SHA-256 of the seed text, so the seed may be any string (a date, a lottery number).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


class DrawImpossible(ValueError):
    """Not enough candidates (or inspectors free of conflicts) for the counts asked."""


@dataclass(frozen=True)
class DrawResult:
    """``assignments``: target id -> inspector ids (each target gets ``inspectors_per_target``)."""

    targets: list[int]
    inspectors: list[int]
    assignments: dict[int, list[int]]


def rng_for(seed: str) -> np.random.Generator:
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))


def draw(
    *,
    seed: str,
    target_ids: Sequence[int],
    inspector_ids: Sequence[int],
    n_targets: int,
    inspectors_per_target: int = 2,
    conflicts: Mapping[int, set[int]] | None = None,
) -> DrawResult:
    """Draw ``n_targets`` targets, then for each target ``inspectors_per_target`` inspectors
    not in conflict with it (``conflicts[target]`` = inspector ids that may not inspect it).

    Candidates are sorted first, so the order they were listed in does not matter.
    """
    if n_targets < 1 or inspectors_per_target < 1:
        raise DrawImpossible("draw at least 1 target and 1 inspector per target")
    targets_pool = sorted(set(target_ids))
    inspectors_pool = sorted(set(inspector_ids))
    if n_targets > len(targets_pool):
        raise DrawImpossible(
            f"{n_targets} targets asked but only {len(targets_pool)} match the filter; "
            "ask for fewer or widen the filter"
        )
    rng = rng_for(seed)
    picked = rng.choice(len(targets_pool), size=n_targets, replace=False)
    targets = sorted(targets_pool[i] for i in picked.tolist())
    conflicts = conflicts or {}
    load = dict.fromkeys(inspectors_pool, 0)
    assignments: dict[int, list[int]] = {}
    for target in targets:
        allowed = [i for i in inspectors_pool if i not in conflicts.get(target, set())]
        if len(allowed) < inspectors_per_target:
            raise DrawImpossible(
                f"target {target} has only {len(allowed)} inspectors free of conflicts; "
                f"{inspectors_per_target} are needed — add inspectors to the pool"
            )
        # Spread the work: draw among the least-loaded allowed inspectors first.
        order = rng.permutation(len(allowed)).tolist()
        shuffled = [allowed[i] for i in order]
        shuffled.sort(key=lambda i: load[i])  # stable: ties keep the random order
        chosen = sorted(shuffled[:inspectors_per_target])
        for i in chosen:
            load[i] += 1
        assignments[target] = chosen
    used = sorted({i for ids in assignments.values() for i in ids})
    return DrawResult(targets=targets, inspectors=used, assignments=assignments)
