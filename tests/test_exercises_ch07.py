"""Chapter 7's exercises: each reference solution passes, and typical mistakes get a message that says what is wrong."""
import numpy as np
import pytest
import torch

from selfattn.exercises import ch07 as ex

from exercise_helpers import fails, passes


def verdict(exercise, answer):
    return exercise.evaluate(answer)


def test_every_reference_solution_passes():
    for exercise in (ex.cosine_similarity, ex.induction_next, ex.patchify):
        result = verdict(exercise, exercise.reference())
        assert result.passed is True, (exercise.name, result.message)
    assert verdict(ex.predict_referents, eval(ex.predict_referents.reference())).passed is True


def test_placeholders_read_not_attempted():
    for exercise in (ex.cosine_similarity, ex.predict_referents, ex.induction_next, ex.patchify):
        assert verdict(exercise, ...).passed is None
    assert verdict(ex.cosine_similarity, lambda u, v: ...).passed is None
    assert verdict(ex.predict_referents, [...] * 5).passed is None


def test_cosine_rejects_the_plain_dot_product():
    result = verdict(ex.cosine_similarity, lambda u, v: float(u @ v))
    assert result.passed is False and "dot product" in result.message


def test_cosine_rejects_dividing_by_one_length():
    result = verdict(ex.cosine_similarity, lambda u, v: float(u @ v / u.norm() ** 2))
    assert result.passed is False and "only one" in result.message


def test_cosine_reports_a_crashing_function_in_one_line():
    def broken(u, v):
        raise RuntimeError("boom")
    result = verdict(ex.cosine_similarity, broken)
    assert result.passed is False and "RuntimeError" in result.message


def test_referents_match_the_rule():
    assert ex.referent("the cat chased the dog because it was hungry") == "cat"
    assert ex.referent("the cat chased the dog because it was scared") == "dog"
    assert ex.referent("the king thanked the girl because she was kind") == "girl"
    assert ex.referent("the girl thanked the king because he was kind") == "king"
    with pytest.raises(ValueError):
        ex.referent("the bank by the river")


def test_referents_reject_first_noun_and_nearest_noun_heuristics():
    firsts = [s.split()[1] for s in ex.REFERENT_SENTENCES]
    nearest = [s.split()[4] for s in ex.REFERENT_SENTENCES]
    r1, r2 = verdict(ex.predict_referents, firsts), verdict(ex.predict_referents, nearest)
    assert r1.passed is False and "first noun" in r1.message
    assert r2.passed is False and "nearest" in r2.message


def test_referents_name_the_first_wrong_sentence_and_check_length():
    answer = eval(ex.predict_referents.reference())
    answer[2] = "cat" if answer[2] == "dog" else "dog"
    result = verdict(ex.predict_referents, answer)
    assert result.passed is False and "sentence 3" in result.message
    assert "5 words" in verdict(ex.predict_referents, answer[:3]).message
    assert "not one of its two nouns" in verdict(ex.predict_referents, ["river"] + answer[1:]).message


def test_induction_rejects_off_by_one_and_first_copy():
    def the_match_itself(tokens):
        return tokens[tokens[:-1].index(tokens[-1])] if tokens[-1] in tokens[:-1] else "?"

    def first_copy(tokens):
        return tokens[tokens[:-1].index(tokens[-1]) + 1] if tokens[-1] in tokens[:-1] else "?"

    r1, r2 = verdict(ex.induction_next, the_match_itself), verdict(ex.induction_next, first_copy)
    assert r1.passed is False and "AFTER" in r1.message
    assert r2.passed is False and "most recent" in r2.message


def test_induction_solution_on_the_models_task():
    assert ex.induction_next.reference()(list("kdsmrwdsm")) == "r"
    assert ex.induction_next.reference()(list("bcd")) == ex.NO_MATCH


def test_patchify_rejects_row_strips_and_column_order():
    r1 = verdict(ex.patchify, lambda image, p: image.reshape(-1, p * p))
    assert r1.passed is False and "image row" in r1.message

    def column_major(image, p):
        h, w = image.shape
        return image.reshape(h // p, p, w // p, p).transpose(0, 2, 3, 1).reshape(-1, p * p)
    r2 = verdict(ex.patchify, column_major)
    assert r2.passed is False and "column by column" in r2.message

    def patches_by_columns(image, p):
        h, w = image.shape
        return image.reshape(h // p, p, w // p, p).transpose(2, 0, 1, 3).reshape(-1, p * p)
    r3 = verdict(ex.patchify, patches_by_columns)
    assert r3.passed is False and "wrong order" in r3.message


def test_patchify_solution_shape():
    out = ex.patchify.reference()(np.zeros((224, 224)), 16)
    assert out.shape == (196, 256)


# --- previous_token_head (design) --------------------------------------------------------------

def test_previous_head_mistakes_are_named():
    d = ex.N_POSITIONS
    right_q, right_k = ex._previous_solution(d)
    passes(ex.previous_token_head, ex._previous_solution)
    fails(ex.previous_token_head, lambda d: (torch.eye(d), torch.eye(d)), "attends most to itself")
    fails(ex.previous_token_head, lambda d: (right_q / 20, right_k), "Scale W_Q")
    fails(ex.previous_token_head, lambda d: (right_q, right_k.T), "shift the other way")
    fails(ex.previous_token_head, lambda d: right_q, "two matrices")


# --- ablate_head (debug) ----------------------------------------------------------------------

def _zero_rows(w_o, head, d_head):
    w = w_o.clone()
    w[head * d_head:(head + 1) * d_head, :] = 0.0
    return w


def _in_place(w_o, head, d_head):
    w_o[:, head * d_head:(head + 1) * d_head] = 0.0
    return w_o


def test_ablate_mistakes_are_named():
    passes(ex.ablate_head, ex._ablate_solution)
    fails(ex.ablate_head, _zero_rows, "COLUMNS")
    fails(ex.ablate_head, _in_place, "work on a copy")
    fails(ex.ablate_head, lambda w, h, d: ex._ablate_solution(w, h, d + 1) if h else ex._ablate_solution(w, h, d),
          "the columns you zeroed")


def test_ablate_solution_is_what_the_chapter_does():
    from selfattn.explore import learned
    model = learned.TinyTransformer(learned.TinyConfig(), seed=0)
    w_o = model.blocks[1].attn.w_o.weight.detach().clone()
    with learned.ablated(model, 1, 1):
        torch.testing.assert_close(model.blocks[1].attn.w_o.weight.detach(), ex._ablate_solution(w_o, 1, 16))
