"""Chapter 4 and 6 widgets: they show what the math computes, and bad input gives a message, not a traceback."""
import pytest
import torch

from selfattn.explore.heads import head_view
from selfattn.explore.positions import compare_orders
from selfattn.widgets.heads import ALL, HeadExplorer
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


# --- HeadExplorer ---------------------------------------------------------------------------------

def test_head_explorer_all_heads_and_one_head():
    w = HeadExplorer("the cat sat on the mat")
    ref = head_view("the cat sat on the mat")
    assert w.area.children == (w.grid,)
    for h, m in enumerate(w.maps):
        assert m.values == [[round(float(v), 6) for v in row] for row in ref.weights[h]]
        assert m.title == f"head {h}: {ref.names[h]}"
    w.head.value = "head 1"
    assert w.area.children == (w.single,)
    assert w.single.title == "head 1: next word"
    assert w.single.values == w.maps[1].values


def test_head_explorer_click_selects_a_query():
    w = HeadExplorer("the cat sat on the mat")
    w.maps[0].click(2, 0)
    assert w.query == 2 and w.maps[3].selected == [2, -1]
    assert "query <b>sat</b>" in w.readout.value and "<b>cat</b>" in w.readout.value
    w.maps[0].click(99, 0)                                 # outside: ignored
    assert w.query == 2
    w.text.value = "a cat"                                 # shorter sentence: selection dropped
    assert w.query == -1


def test_head_explorer_random_kind():
    w = HeadExplorer("the cat sat", kind="random")
    assert w.maps[0].title == "head 0: untrained"
    assert "before training" in w.message.value


@pytest.mark.parametrize("text,needle", [("", "no words"), ("x " * 20, "at most 16")])
def test_head_explorer_bad_text_gives_a_message(text, needle):
    w = HeadExplorer("the cat sat")
    w.text.value = text
    assert needle in w.message.value
    assert len(w.maps[0].values) == 3


def test_head_explorer_unicode():
    w = HeadExplorer("Ünïcode 🙂 <script>")
    assert "ünïcode" in w.maps[0].row_labels
    assert "<script>" not in w.message.value


def test_head_explorer_demo_and_step():
    w = HeadExplorer.demo()
    assert len(w.view.tokens) == HeadExplorer.MAX_TOKENS == 16 and w.head.value == ALL
    w.step(3)
    assert w.query == 3 and w.maps[0].selected == [3, -1]
    w.step(20)
    assert w.query == 4
    assert repr(w).startswith("HeadExplorer(n=16")
