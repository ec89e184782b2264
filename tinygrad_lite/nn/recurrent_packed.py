"""RNN, LSTM and GRU over a PackedSequence (torch's variable-length input).

The packed steps are laid out as a padded batch (B, T, F) in the original order of the
sequences (a gather from ``PackedSequence.data``, or, for a packed batched input, the batched
padded tensor it was packed from), and each layer and direction runs the ordinary recurrence
over it:

* forward: steps past a sequence's end only compute values nobody reads; the final state of
  sequence b is the state after its own step L_b - 1;
* reverse: each sequence is first reversed within its own length (x'[b, t] = x[b, L_b - 1 - t]),
  so the recurrence starts at its own last step from the initial state, and the outputs are
  reversed back the same way.

Outputs past each end are set to 0 before the next layer, and the output PackedSequence takes
the valid steps back in packed order. Everything is indexing, gather, cat and the layer's own
differentiable step, so gradients are exact. Gathers run along the time axis, so a batched
input keeps per-sample gradients up to the output (read them through
``pad_packed_sequence(..., batch_first=True)``); ``h_n`` / ``c_n`` mix samples as in the
unpacked layer. Touches nothing but the layer's forward graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..batchstate import BATCHED, MIXED, module_path
from ..ops.layout import cat, stack
from ..tensor import Tensor
from . import functional as F
from .recurrent import _STEPS
from .utils.rnn import PackedSequence, _layout, _source, linked, regroup


def _recur(layer: Any, seq: Tensor, state: tuple, sfx: str, last: np.ndarray) -> tuple:
    """The recurrence of one layer and direction over seq (B, T, F) from ``state``: the outputs
    (B, T, H) and the state after step ``last[b]`` of each sequence."""
    step = _STEPS[layer.mode][1]
    w_hh = getattr(layer, "weight_hh" + sfx)
    b_ih, b_hh = (getattr(layer, "bias_ih" + sfx), getattr(layer, "bias_hh" + sfx)) if layer.bias else (None, None)
    w_hr = getattr(layer, "weight_hr" + sfx) if layer.proj_size else None
    gx = F.linear(seq, getattr(layer, "weight_ih" + sfx), b_ih)
    T = int(last.max()) + 1
    hist: list = [[] for _ in state]
    for t in range(T):
        state = step(gx[:, t], state, w_hh, b_hh)
        if w_hr is not None:
            state = (F.linear(state[0], w_hr), state[1])
        for h, s in zip(hist, state):
            h.append(s)
    ends = []
    for h in hist:
        if T == 1:
            ends.append(h[0])
            continue
        hs = stack(h, 1)  # (B, T, H)
        idx = np.broadcast_to(last[:, None, None], (hs.shape[0], 1, hs.shape[2]))
        ends.append(hs.gather(1, np.ascontiguousarray(idx))[:, 0])
    return stack(hist[0], 1), tuple(ends)


def run_packed(layer: Any, ps: PackedSequence, hx: Any, cx: Any = None) -> tuple:
    """(output PackedSequence, [h_n] or [h_n, c_n]) of ``layer`` over ``ps``, as torch."""
    who = layer._who()
    d = ps.data
    if d.ndim != 2 or d.shape[1] != layer.input_size:
        raise ValueError(f"{who}: a PackedSequence input needs data of shape (sum of lengths, {layer.input_size}), "
                         f"got {d.shape}")
    lengths, b_rows, t_rows = _layout(ps)
    B, T = len(lengths), int(lengths.max())
    ts = np.arange(T)[None, :]
    valid = ts < lengths[:, None]
    keep = np.where(valid, ts, -1)  # (B, T): step t itself, or padding past the end
    flip = np.where(valid, lengths[:, None] - 1 - ts, -1)  # step L_b - 1 - t: reversed within the length
    src = _source(ps, b_rows, t_rows)
    if src is not None:
        x = regroup(src[:, :T], keep, 0.0)
    else:
        rows = np.full((B, T), d.shape[0], np.int64)
        rows[b_rows, t_rows] = np.arange(d.shape[0])
        x = cat([d, Tensor(np.zeros((1, d.shape[1]), d.dtype))], 0)[rows]
    batched = bool(x._bs & BATCHED)
    dtype = d.data.dtype if d.data.dtype.kind == "f" else np.float64
    states = layer._initial(hx, cx, B, False, batched, dtype)
    D = 2 if layer.bidirectional else 1
    last = lengths - 1
    finals: list = []
    for k in range(layer.num_layers):
        outs = []
        for r in range(D):
            seq = regroup(x, flip, 0.0) if r else x
            out, end = _recur(layer, seq, states[k * D + r], f"_l{k}" + ("_reverse" if r else ""), last)
            outs.append(regroup(out, flip if r else keep, 0.0))
            finals.append(end)
        x = outs[0] if D == 1 else cat(outs, -1)
        if layer.dropout > 0.0 and layer.training and k < layer.num_layers - 1:
            x = F.dropout(x, layer.dropout, True, rng=layer._drop_rng)
    ends = [stack([s[i] for s in finals], 0) for i in range(len(finals[0]))]  # (D*L, B, H), original order
    if batched and not x._bs & MIXED:
        path = module_path()
        where = f" (module '{path}')" if path and path != type(layer).__name__ else ""
        why = (f"'{who}'{where} returns h_n/c_n with torch's layout (D*num_layers, B, H), the sample axis second, "
               "which per-sample gradients cannot follow; build the loss from the output instead")
        for e in ends:
            e._bs, e._mix = MIXED, why
    out = linked(x[b_rows, t_rows], ps.batch_sizes, ps.sorted_indices, ps.unsorted_indices, x,
                 f"'{who}' returns a PackedSequence whose data interleaves the samples' time steps (use "
                 "pad_packed_sequence(output, batch_first=True) to get a batched tensor back)")
    return out, ends
