"""Assertions shared by the per-chapter exercise tests."""


def passes(exercise, answer):
    """The exercise accepts the answer; returns its message."""
    r = exercise.evaluate(answer)
    assert r.passed is True, r.message
    return r.message


def fails(exercise, answer, fragment):
    """The exercise rejects the answer, and its message says `fragment`."""
    r = exercise.evaluate(answer)
    assert r.passed is False, f"accepted a wrong answer: {r.message}"
    assert fragment in r.message, r.message
