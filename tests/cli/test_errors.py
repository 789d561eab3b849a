"""Every user error ends as one line and exit 2; everything else is a bug with a traceback.

The table is not written by hand: it is every subclass of ``LedgergateError`` found by
importing every module of the package, so an error class added tomorrow is walked too.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

import ledgergate
from ledgergate.cli.app import run_command
from ledgergate.errors import LedgergateError

# a message as a careless raiser might write it: two lines
MESSAGE = "bad value 'x'\nexpected 'y'; fix the input"


def _all_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(ledgergate.__path__, "ledgergate.")]
    return sorted(n for n in names if not n.endswith("__main__"))


def _import_all() -> None:
    for name in _all_modules():
        importlib.import_module(name)


def _subclasses(cls: type[BaseException]) -> list[type[BaseException]]:
    out: list[type[BaseException]] = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


_import_all()
ERRORS = sorted(set(_subclasses(LedgergateError)), key=lambda c: f"{c.__module__}.{c.__qualname__}")

# the classes whose constructor is not ``cls(message)``
FACTORIES: dict[str, Callable[[type[Any]], BaseException]] = {
    "ledgergate.config.ConfigError": lambda c: c("site.yaml", [("routes[0].path", MESSAGE), ("proxy.port", "x")]),
    "ledgergate.ingest.errors.ItemError": lambda c: c("run 42", MESSAGE),
    "ledgergate.proxy.avrocheck.EventValidationError": lambda c: c("RequestEvent", [("principal", MESSAGE)]),
    "ledgergate.proxy.sdk.PublishError": lambda c: c(["r-1"], 3, ValueError(MESSAGE)),
}


def _make(cls: type[BaseException]) -> BaseException:
    factory = FACTORIES.get(f"{cls.__module__}.{cls.__qualname__}")
    return factory(cls) if factory else cls(MESSAGE)


def _raiser(exc: BaseException) -> Callable[[argparse.Namespace], int]:
    def fn(args: argparse.Namespace) -> int:
        raise exc
    return fn


def test_the_walk_found_every_package() -> None:
    modules = {c.__module__.split(".")[1] for c in ERRORS}
    assert {"broker", "cli", "config", "devstack", "ingest", "ledger", "proxy", "reports", "schemas",
            "streams"} <= modules


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: f"{c.__module__.removeprefix('ledgergate.')}.{c.__name__}")
def test_user_error_is_one_line_and_exit_2(cls: type[BaseException], capsys: pytest.CaptureFixture[str]) -> None:
    code = run_command(_raiser(_make(cls)), argparse.Namespace())
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("ledgergate: error: ") and err.endswith("\n")
    assert err.count("\n") == 1, err
    assert "bad value 'x'" in err and "expected 'y'" in err


def test_config_error_names_its_first_problem_and_how_to_see_the_rest(capsys: pytest.CaptureFixture[str]) -> None:
    from ledgergate.config import ConfigError

    run_command(_raiser(FACTORIES["ledgergate.config.ConfigError"](ConfigError)), argparse.Namespace())
    assert capsys.readouterr().err == (
        "ledgergate: error: site.yaml: routes[0].path: bad value 'x' expected 'y'; fix the input "
        "(and 1 more; run `ledgergate config check site.yaml`)\n")


@pytest.mark.parametrize("exc", [ValueError("bug"), KeyError("bug"), TypeError("bug"), AssertionError("bug")])
def test_anything_else_is_a_bug_with_a_traceback(exc: BaseException) -> None:
    with pytest.raises(type(exc)):
        run_command(_raiser(exc), argparse.Namespace())


def test_debug_shows_the_traceback_of_a_user_error() -> None:
    with pytest.raises(LedgergateError):
        run_command(_raiser(LedgergateError(MESSAGE)), argparse.Namespace(), debug=True)


def test_every_exception_class_of_the_project_derives_from_the_one_base() -> None:
    strays = []
    for name in _all_modules():
        for _, obj in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            if (issubclass(obj, BaseException) and obj.__module__ == name
                    and not issubclass(obj, LedgergateError)):
                strays.append(f"{name}.{obj.__qualname__}")
    assert strays == []


def test_a_real_process_prints_one_line_for_a_user_error(tmp_path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("proxy: {port: -1}\n", "utf-8")
    r = subprocess.run([sys.executable, "-m", "ledgergate", "events", "list", "--config", str(bad)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("ledgergate: error: "), r.stderr
    assert "Traceback" not in r.stderr
