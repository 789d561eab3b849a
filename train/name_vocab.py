"""Given and family names across cultures, from Faker's person providers (every locale whose
names are written in Latin script), for the PERSON gazetteer. Written to
``streams/classify/models/names.json`` by ``train/train.py``."""

from __future__ import annotations

import importlib
import pkgutil


def _values(v: object) -> set[str]:
    if isinstance(v, dict):
        return {k for k in v if isinstance(k, str)}
    if isinstance(v, (list, tuple, set, frozenset)):
        return {k for k in v if isinstance(k, str)}
    return set()


def _latin(s: str) -> bool:
    return bool(s) and s[0].isupper() and all(ord(c) < 0x250 or c in "'’- " for c in s) and " " not in s


def build_names() -> dict[str, list[str]]:
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for mod_info in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"faker.providers.person.{mod_info.name}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            first |= _values(getattr(provider, attr, None))
        for attr in ("last_names", "last_names_male", "last_names_female"):
            last |= _values(getattr(provider, attr, None))
    return {"first": sorted(x for x in first if _latin(x)), "last": sorted(x for x in last if _latin(x))}
