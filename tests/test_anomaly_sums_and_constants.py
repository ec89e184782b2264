"""detect_anomaly's two checks where nothing used to trip them:

* finite cotangents that add up to Inf at a node (two branches of 1.5e308): the next step
  sends 0 * Inf = NaN, which no single step made from a finite cotangent;
* a forward op that records nothing (no input requires grad, or no_grad) turning finite
  inputs into NaN: the error used to come later, naming an innocent op.
"""

import numpy as np
import pytest

import tinygrad_lite as tl


def test_finite_cotangents_adding_up_to_inf_raise_at_the_node_they_meet():
    w = tl.Tensor([1.0], requires_grad=True)
    with tl.detect_anomaly():
        a = w * 0.0
        y = (a * 1.5e308).sum() + (a * 1.5e308).sum()  # each branch sends a finite 1.5e308 to a
        with pytest.raises(FloatingPointError, match=r"output of op 'mul'.*add up to Inf") as info:
            y.backward()
    assert info.value.node is a
    assert w.grad is None  # nothing written


def test_a_leaf_whose_finite_cotangents_add_up_to_inf_raises():
    w = tl.Tensor([0.0], requires_grad=True, name="w")
    with tl.detect_anomaly():
        y = (w * 1.5e308).sum() + (w * 1.5e308).sum()  # 0 forward; 1.5e308 twice backward
        with pytest.raises(FloatingPointError, match=r"leaf 'w'.*add up to Inf"):
            y.backward()
    assert w.grad is None


def test_without_the_context_the_same_sum_is_plain_inf():
    w = tl.Tensor([1.0], requires_grad=True)
    ((w * 1.5e308).sum() + (w * 1.5e308).sum()).backward()
    assert np.isinf(w.grad).all()


@pytest.mark.parametrize("no_grad", [False, True])
def test_a_forward_op_that_records_nothing_is_checked_too(no_grad):
    raw = tl.Tensor([[3.0, 3.0], [3.0, 3.0]])
    with tl.detect_anomaly():
        centred = raw - raw.mean()
        with pytest.raises(FloatingPointError, match=r"forward of op 'div'.*test_anomaly_sums") as info:
            if no_grad:
                with tl.no_grad():
                    centred / centred.abs().max()
            else:
                centred / centred.abs().max()  # 0 / 0
    assert info.value.op == "div" and len(info.value.operands) == 2


def test_ops_on_non_finite_inputs_and_attention_masks_stay_quiet():
    x = tl.Tensor(np.random.default_rng(0).standard_normal((2, 5, 8)), batched=True)
    with tl.detect_anomaly():
        mask = tl.nn.Transformer.generate_square_subsequent_mask(5)
        y, _ = tl.nn.MultiheadAttention(8, 2)(x, x, x, attn_mask=mask)
        with tl.no_grad():
            tl.nn.functional.scaled_dot_product_attention(x, x, x, is_causal=True)
            tl.Tensor([0.0, -np.inf]).softmax(-1)
        y.sum().backward()
