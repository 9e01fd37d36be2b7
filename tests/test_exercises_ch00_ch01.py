"""Chapter 0 and 1 exercises: the reference passes, typical mistakes fail with a reason, placeholders read as not attempted."""
from selfattn.exercises import ch00, ch01


def test_d_head():
    assert ch00.d_head.evaluate(64).passed
    r = ch00.d_head.evaluate(4096)
    assert r.passed is False and "divide" in r.message
    assert ch00.d_head.evaluate(...).passed is None


def test_rnn_and_attention_steps():
    assert ch01.rnn_steps.evaluate(8).passed
    off_by_one = ch01.rnn_steps.evaluate(7)
    assert off_by_one.passed is False and "first step" in off_by_one.message
    assert ch01.attention_steps.evaluate(1).passed
    assert "RNN" in ch01.attention_steps.evaluate(999).message


def test_cnn_layers():
    assert ch01.cnn_layers.evaluate(ch01.cnn_layers_solution).passed
    wrong = ch01.cnn_layers.evaluate(lambda d, k: -(-d // k))
    assert wrong.passed is False and "(kernel-1)/2" in wrong.message
    floor = ch01.cnn_layers.evaluate(lambda d, k: d // ((k - 1) // 2))
    assert floor.passed is False and "round up" in floor.message
    crash = ch01.cnn_layers.evaluate(lambda d, k: d / 0)
    assert crash.passed is False and "ZeroDivisionError" in crash.message

    def placeholder(distance, kernel):
        ...
    assert ch01.cnn_layers.evaluate(placeholder).passed is None
