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


def learner_checks_say_not_attempted(name: str, has_solutions: bool, cells) -> None:
    """In a learner's edition that has run, every exercise check reports "not attempted" and none
    passes (a pass would mean a solution was left in). `cells`: (index, source, printed text) of
    its code cells."""
    cells = list(cells)
    kept = [i for i, source, _ in cells if "SOLUTION" in source]
    assert not kept, f"{name}: a solution marker survived in cells {kept}"
    checks = [(i, source, text) for i, source, text in cells if ".check(" in source]
    if has_solutions:
        assert checks, f"{name} has solutions but no exercise check"
    for i, source, text in checks:
        assert "not attempted" in text.lower(), f"{name} cell {i}: the check does not say 'not attempted':\n{text}"
        assert "✔" not in text, f"{name} cell {i}: a check passes in the learner's edition (solution left in?):\n{text}"
