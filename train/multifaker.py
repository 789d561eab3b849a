"""A deterministic multi-locale Faker: Faker's own multi-locale proxy picks the locale with an
unseeded generator, so the same seed gave different text on each run."""

from __future__ import annotations

import random
from typing import Any

from faker import Faker


class MultiFaker:
    """Each attribute call goes to one locale's Faker, chosen by our own seeded ``rng``."""

    def __init__(self, locales: list[str], seed: int) -> None:
        self._rng = random.Random(seed)
        self._fakers = []
        for i, loc in enumerate(locales):
            f = Faker(loc)
            f.seed_instance(seed * 31 + i)
            self._fakers.append(f)

    def __getattr__(self, name: str) -> Any:
        for _ in range(len(self._fakers)):
            f = self._rng.choice(self._fakers)
            if hasattr(f, name):
                return getattr(f, name)
        return getattr(self._fakers[0], name)
