"""Exercises for every chapter, each with check(), hint() and solution().

    from selfattn.exercises import ch03 as ex
    ex.stable_softmax.hint()
    ex.stable_softmax.check(my_softmax)

Chapter modules are named after the notebooks (ch01 <-> notebooks/01_*.ipynb). The checkers
compare against selfattn's math, never against a plotting or widget module.
"""
import importlib

from ._core import CheckResult, Exercise, Wrong, exercises, progress

__all__ = ["CheckResult", "Exercise", "Wrong", "exercises", "progress"]


def __getattr__(name):
    if name.startswith("ch") and name[2:].isdigit():
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(name)
