"""Every exercise in the book passes its own reference solution, and an untouched placeholder is 'not attempted'."""
import importlib
import pkgutil

import pytest

import selfattn.exercises as pkg
from selfattn.exercises import exercises

CHAPTERS = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("ch"))
for name in CHAPTERS:
    importlib.import_module(f"selfattn.exercises.{name}")
ALL = [ex for ch in CHAPTERS for ex in exercises(ch)]


def test_every_chapter_module_has_exercises():
    assert "ch00" in CHAPTERS and "ch01" in CHAPTERS
    for ch in CHAPTERS:
        assert exercises(ch), f"{ch} defines no exercises"


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: f"{e.chapter}.{e.name}")
def test_reference_solution_passes(exercise):
    result = exercise.evaluate(exercise.reference_answer())
    assert result.passed is True, f"{exercise.chapter}.{exercise.name}: {result.message}"


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: f"{e.chapter}.{e.name}")
def test_placeholder_reads_as_not_attempted(exercise):
    assert exercise.evaluate(...).passed is None
    assert "not attempted" in str(exercise.evaluate(...)).lower()
