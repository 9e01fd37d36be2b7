"""Chapter 4's widget: it shows what compare_orders computes, and bad input is refused at the top of the widget."""
import pytest

from selfattn.explore.positions import compare_orders
from selfattn.limits import MAX_TOKENS
from selfattn.widgets.base import BookWidget
from selfattn.widgets.positions import OrderExplorer


def test_order_explorer_shows_what_compare_orders_computes():
    w = OrderExplorer("the cat sat on the mat", kind="sinusoidal")
    assert isinstance(w, BookWidget) and w.kind == "word-order explorer"
    assert w.order == [5, 1, 2, 3, 4, 0]                   # first and last swapped to start with
    ref = compare_orders("the cat sat on the mat", w.order, "sinusoidal")
    assert w.before.values == [[round(float(v), 6) for v in row] for row in ref.weights]
    assert w.after.row_labels == ref.shuffled
    assert "output changed by" in w.table.value
    assert "2 of 6 tokens moved" in w.status.value
    v = w.values()
    assert v["tokens moved"] == "2 of 6" and v["outputs changed value"] == f"{ref.n_changed} of 6" == "6 of 6"
    assert v["new order"] == "mat cat sat on the the"


def test_order_explorer_report_in_the_rotary_case():
    w = OrderExplorer("the cat sat on the mat", kind="rotary")
    report = w.report()
    assert "cat   1 ->  1  output changed by 0.009" in report and "mat   5 ->  0  output changed by 0.201" in report
    assert "positions: rotary" in report and "refused" not in report


def test_order_controls():
    w = OrderExplorer("a b c d")
    w.reverse_button.click()
    assert w.order == [3, 2, 1, 0] and w.order_box.value == "3 2 1 0"
    w.reset_button.click()
    assert w.order == [0, 1, 2, 3]
    w.swap_button.click()
    assert w.order == [3, 1, 2, 0]
    w.shuffle_button.click()
    first = list(w.order)
    assert sorted(first) == [0, 1, 2, 3] and first != [0, 1, 2, 3]
    w.order_box.value = "1, 0, 3, 2"
    assert w.order == [1, 0, 3, 2]
    assert w.comparison.shuffled == ["b", "a", "d", "c"]


def test_clicking_two_rows_of_the_new_order_swaps_them():
    w = OrderExplorer("a b c d")
    assert w.order == [3, 1, 2, 0]
    w.after.click(1, 0)
    assert w.picked == 1 and w.after.selected == [1, -1] and w.order == [3, 1, 2, 0]
    w.after.click(2, 3)
    assert w.order == [3, 2, 1, 0] and w.picked == -1 and w.after.selected == [-1, -1]
    assert w.after.row_labels == ["d", "c", "b", "a"]
    w.after.click(0, 0)
    w.after.click(0, 1)                                    # the same row again: let go, nothing moves
    assert w.order == [3, 2, 1, 0] and w.picked == -1
    w.after.click(9, 0)                                    # outside: ignored
    assert w.picked == -1


def test_without_positions_every_output_only_moves():
    w = OrderExplorer("the cat sat on the mat", kind="none")
    w.shuffle()
    assert all(w.comparison.same_value)
    assert "0 output(s) changed value" in w.status.value
    w.positions.value = "rotary"
    assert not all(w.comparison.same_value) and w.comparison.kind == "rotary"
    w.strength.value = 0.0
    assert all(w.comparison.same_value)


@pytest.mark.parametrize("text,needle", [("", "no words"), ("   ", "no words"), ("word " * 17, f"at most {MAX_TOKENS}")])
def test_bad_text_is_refused_at_the_top_and_the_box_put_back(text, needle):
    w = OrderExplorer("the cat sat")
    before = w.before.values
    w.text.value = text
    assert w.refused and needle in w.refusal() and w.message.layout.display is None
    assert w.text.value == "the cat sat" and w.before.values == before
    w.text.value = "a dog ran"
    assert not w.refused and w.tokens == ["a", "dog", "ran"]


def test_order_explorer_unknown_and_unicode_words():
    w = OrderExplorer("la niña 🙂 <b>cat</b>")
    assert "no hand-designed vector" in w.status.value.lower()
    assert "niña" in w.before.row_labels and "<" in w.before.row_labels   # labels are drawn as text
    assert "&lt;" in w.table.value and "<b>" not in w.table.value         # typed text is escaped in HTML


@pytest.mark.parametrize("typed,needle", [("0 1", "exactly once"), ("x", "whole numbers"), ("", "type a new order")])
def test_bad_order_is_refused_and_the_box_shows_the_order_drawn(typed, needle):
    w = OrderExplorer("a b c")
    w.order_box.value = typed
    assert w.refused and needle in w.refusal()
    assert w.order == [2, 1, 0] and w.order_box.value == "2 1 0"      # the last valid order stays, and is shown
    w.order_box.value = "1 0 2"
    assert not w.refused and w.order == [1, 0, 2]


def test_order_explorer_demo_and_step():
    w = OrderExplorer.demo()
    assert len(w.tokens) == OrderExplorer.MAX_TOKENS == MAX_TOKENS
    w.step(0)
    first = list(w.order)
    w.step(1)
    assert w.order != first and len(w.after.values) == MAX_TOKENS
    w.step(0)
    assert w.order == first                                # step(i) is reproducible
    assert repr(w).startswith("OrderExplorer: word-order explorer")
