"""Readers declare themselves by kind; combinations answer with the first reader that knows."""

from __future__ import annotations

from farnode_desktop.core.pausing.signals.reader import DECLARED, FirstAnswer, Reader, Unknown, kinds


class Answers(Reader[float | None]):
    kind = "test-answers"  # no `what`: a test's reader is not one of the app's

    def __init__(self, value: float | None) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> float | None:
        self.calls += 1
        return self.value


def test_a_reader_with_a_kind_and_words_is_declared_and_the_placeholders_are_not() -> None:
    class Declared(Reader[None]):
        kind = "test-declared"
        what = "a test reading"

    try:
        assert DECLARED["test-declared"] == "a test reading"
        assert "unknown" not in DECLARED and "first-answer" not in DECLARED and "test-answers" not in DECLARED
    finally:
        del DECLARED["test-declared"]  # leave the registry to the app's readers


def test_the_first_reader_that_answers_wins() -> None:
    silent, known, later = Answers(None), Answers(42.0), Answers(7.0)
    both = FirstAnswer([silent, known, later])
    assert both() == 42.0 and both.answered is known
    assert (silent.calls, later.calls) == (1, 0)
    known.value = None
    assert both() == 7.0 and both.answered is later
    later.value = None
    assert both() is None and both.answered is None
    assert kinds([both, Unknown()]) == {"test-answers"}
    assert Unknown()() is None
