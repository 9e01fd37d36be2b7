"""Chapter 4 widgets (chapter 6's are in test_widgets_ch06.py): they show what the math computes, and bad input gives a message, not a traceback."""
import pytest
import torch

from selfattn.explore.positions import compare_orders
from selfattn.widgets.positions import OrderExplorer


# --- OrderExplorer ------------------------------------------------------------------------------

def test_order_explorer_shows_what_compare_orders_computes():
    w = OrderExplorer("the cat sat on the mat", kind="sinusoidal")
    assert w.order == [5, 1, 2, 3, 4, 0]                   # first and last swapped to start with
    ref = compare_orders("the cat sat on the mat", w.order, "sinusoidal")
    assert w.before.values == [[round(float(v), 6) for v in row] for row in ref.weights]
    assert w.after.row_labels == ref.shuffled
    assert "output changed by" in w.table.value
    assert "2 of 6 tokens moved" in w.message.value


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
    assert "0 output(s) changed value" in w.message.value
    w.kind.value = "rotary"
    assert not all(w.comparison.same_value)
    w.strength.value = 0.0
    assert all(w.comparison.same_value)


@pytest.mark.parametrize("text,needle", [("", "no words"), ("   ", "no words"), ("word " * 17, "at most 16")])
def test_order_explorer_bad_text_gives_a_message_and_keeps_the_last_view(text, needle):
    w = OrderExplorer("the cat sat")
    before = w.before.values
    w.text.value = text
    assert needle in w.message.value and "b00020" in w.message.value
    assert w.before.values == before


def test_order_explorer_unknown_and_unicode_words():
    w = OrderExplorer("la niña 🙂 <b>cat</b>")
    assert "no hand-designed vector" in w.message.value.lower()
    assert "niña" in w.before.row_labels and "<" in w.before.row_labels   # labels are drawn as text
    assert "&lt;" in w.table.value and "<b>" not in w.table.value         # typed text is escaped in HTML


@pytest.mark.parametrize("typed,needle", [("0 1", "exactly once"), ("x", "whole numbers"), ("", "type a new order")])
def test_order_explorer_bad_order_gives_a_message(typed, needle):
    w = OrderExplorer("a b c")
    w.order_box.value = typed
    assert needle in w.message.value
    assert w.order == [2, 1, 0]                            # the last valid order stays


def test_order_explorer_demo_and_step():
    w = OrderExplorer.demo()
    assert len(w.tokens) == OrderExplorer.MAX_TOKENS == 16
    w.step(0)
    first = list(w.order)
    w.step(1)
    assert w.order != first and len(w.after.values) == 16
    w.step(0)
    assert w.order == first                                # step(i) is reproducible
    assert repr(w) == "OrderExplorer(n=16, kind='rotary')"
