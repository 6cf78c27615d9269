"""Reference calculators by name: `emt`, `sevennet` (SevenNet-0) or any ASE calculator as `module:Class`.

A CalculatorSpec names the class and its constructor arguments, imports it without building
it (so a missing package is one line before any work starts), builds one instance per process
and describes itself (name, package version, model) for the provenance of every label.
torch-based calculators run with one thread per process (torch.set_num_threads(1)).
"""
from __future__ import annotations

import importlib
import json
import sys
import tomllib
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ..errors import NanomcError


class CalculatorError(NanomcError, ValueError):
    """A calculator that is unknown, cannot be imported or cannot be built."""


#: named calculators: (module:Class, default constructor arguments)
NAMED = {
    "emt": ("ase.calculators.emt:EMT", {}),
    "sevennet": ("sevenn.calculator:SevenNetCalculator", {"model": "7net-0", "device": "cpu"}),
}

#: how to install the packages a named calculator needs (the `teacher` extra)
TEACHER_INSTALL = "pip install torch==2.13.0 && pip install sevenn (CPU build first; or pip install \"nanomc[teacher]\")"
_TEACHER_PACKAGES = {"sevenn", "torch", "torch_geometric"}


def parse_calc_arg(text: str) -> tuple[str, Any]:
    """`key=value` of --calc-arg: the value as a TOML value (1, 2.5, true, "x", [1, 2]) or else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise CalculatorError(f"--calc-arg {text!r}: give key=value")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.strip(), parsed


@dataclass(frozen=True)
class CalculatorSpec:
    """A calculator by name (`emt`, `sevennet`) or `module:Class`, with constructor arguments."""

    name: str
    target: str
    kwargs: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, name: str, kwargs: dict | None = None) -> "CalculatorSpec":
        """The spec of a calculator name; CalculatorError for a name that is neither known nor module:Class."""
        if name in NAMED:
            target, defaults = NAMED[name]
            return cls(name, target, {**defaults, **(kwargs or {})})
        module, sep, attr = name.partition(":")
        if not sep or not module or not attr:
            raise CalculatorError(f"unknown calculator {name!r}: use {', '.join(NAMED)} or module:Class "
                                  "(e.g. ase.calculators.emt:EMT)")
        return cls(name, name, dict(kwargs or {}))

    def load_class(self) -> type:
        """Import the calculator class; CalculatorError naming the missing module (and, for the
        teacher, how to install it)."""
        module_name, _, attr = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] in _TEACHER_PACKAGES:
                raise CalculatorError(f"calculator {self.name!r} needs {exc.name}, which is not installed: "
                                      f"{TEACHER_INSTALL}") from None
            raise CalculatorError(f"calculator {self.name!r}: cannot import module {module_name!r} ({exc})") from None
        except Exception as exc:  # a module that fails while importing: one line, not its traceback
            raise CalculatorError(f"calculator {self.name!r}: importing {module_name!r} failed "
                                  f"({type(exc).__name__}: {exc})") from None
        try:
            return getattr(module, attr)
        except AttributeError:
            raise CalculatorError(f"calculator {self.name!r}: module {module_name!r} has no {attr!r}") from None

    def build(self):
        """A new calculator instance (one per process; torch, if loaded, set to one thread)."""
        cls = self.load_class()
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        try:
            return cls(**self.kwargs)
        except Exception as exc:  # bad constructor arguments, a model that cannot be loaded, ...
            raise CalculatorError(f"calculator {self.name!r}{self._args_text()}: cannot be created "
                                  f"({type(exc).__name__}: {exc})") from None

    def _args_text(self) -> str:
        return f" with {json.dumps(self.kwargs, sort_keys=True)}" if self.kwargs else ""

    def identity(self) -> dict[str, str]:
        """What every label records: calculator (the name given), calculator_class (module:Class),
        calculator_version ("package version" of the class's top-level package), calculator_model
        (the `model` argument, or "none") and calculator_args (the constructor arguments as JSON). No value
        is empty or number-like, so extxyz keeps them as these strings."""
        package = self.target.partition(":")[0].split(".")[0]
        try:
            package_version = f"{package} {version(package)}"
        except PackageNotFoundError:
            module = sys.modules.get(package)
            package_version = f"{package} {getattr(module, '__version__', 'unknown')}"
        return {"calculator": self.name, "calculator_class": self.target, "calculator_version": package_version,
                "calculator_model": str(self.kwargs.get("model", "none")) or "none",
                "calculator_args": json.dumps(self.kwargs, sort_keys=True)}
