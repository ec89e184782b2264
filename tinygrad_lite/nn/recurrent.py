"""Recurrent layers (RNN, LSTM, GRU) and their one-step cells, shaped like PyTorch's.

Parameters carry torch's names and shapes (``weight_ih_l{k}[_reverse]`` of shape (G*H, in),
``weight_hh_l{k}[_reverse]`` (G*H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G*H,), with G = 1,
4 (gates i, f, g, o) or 3 (gates r, z, n)), torch's initialisation (uniform in
+-1/sqrt(hidden_size)) and torch's forward signatures, so a torch model's state dict loads
by name and gives the same outputs.

Everything is built from existing differentiable ops, so gradients are exact: per layer and
direction the whole sequence goes through ``weight_ih`` in one ``F.linear`` (T rows per
sample), then a loop over time applies ``weight_hh`` with ``F.linear`` and the gates with
sigmoid, tanh (or relu), products and sums.

Per-sample gradients: with ``batch_first=True`` and a batched input (B, T, F), ``output``
(B, T, D*H) keeps them (each sample's rows depend on that sample only). ``h_n`` / ``c_n``
have torch's layout (D*num_layers, B, H), sample axis second, which the per-sample machinery
cannot follow: a loss built from them marks the graph as mixing (reading ``grad_sample``
raises, naming the layer; ``.grad`` stays right). A batched input with ``batch_first=False``
(axis 0 would be time) is refused at forward.

A ``PackedSequence`` input (``tl.nn.utils.rnn``) is run by ``recurrent_packed.py``: the output is
a PackedSequence and h_n / c_n hold each sequence's state at its own last step, as torch.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Callable, Optional, Union

import numpy as np

from ..batchstate import BATCHED, MIXED, module_path
from ..conventions import check_bool
from ..factories import check_device, param_dtype
from ..ops.layout import cat, stack, unmark
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

Rng = Union[None, int, np.random.Generator]
State = tuple  # (h,) or (h, c), each (N, H)


# ------------------------------------------------------------------ one time step ----------
def _tanh_step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Optional[Tensor]) -> State:
    """h' = tanh(gx + h W_hh^T + b_hh), with gx = x W_ih^T + b_ih."""
    return (F.tanh(gx + F.linear(state[0], w_hh, b_hh)),)


def _relu_step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Optional[Tensor]) -> State:
    """h' = relu(gx + h W_hh^T + b_hh)."""
    return (F.relu(gx + F.linear(state[0], w_hh, b_hh)),)


def _lstm_step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Optional[Tensor]) -> State:
    """[i, f, g, o] = gx + h W_hh^T + b_hh; c' = s(f) c + s(i) tanh(g); h' = s(o) tanh(c')."""
    h, c = state
    H = c.shape[-1]  # (h may be projected to fewer features)
    a = gx + F.linear(h, w_hh, b_hh)
    s = F.sigmoid(a)
    c = s[..., H:2 * H] * c + s[..., :H] * F.tanh(a[..., 2 * H:3 * H])
    return s[..., 3 * H:] * F.tanh(c), c


def _gru_step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Optional[Tensor]) -> State:
    """r = s(gx_r + gh_r), z = s(gx_z + gh_z), n = tanh(gx_n + r gh_n), h' = n + z (h - n),
    with gh = h W_hh^T + b_hh (so b_hn stays inside the product with r, as in torch)."""
    h = state[0]
    H = h.shape[-1]
    gh = F.linear(h, w_hh, b_hh)
    rz = F.sigmoid(gx[..., :2 * H] + gh[..., :2 * H])
    n = F.tanh(gx[..., 2 * H:] + rz[..., :H] * gh[..., 2 * H:])
    return (n + rz[..., H:] * (h - n),)


_STEPS: dict = {"RNN_TANH": (1, _tanh_step), "RNN_RELU": (1, _relu_step), "LSTM": (4, _lstm_step),
                "GRU": (3, _gru_step)}


# ------------------------------------------------------------------ shared checks ----------
def _size(who: str, name: str, v: Any, lo: int = 1) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{who}: {name} must be an int, got {v!r}")
    if v < lo:
        raise ValueError(f"{who}: {name} must be >= {lo}, got {v}")
    return int(v)


def _mode(who: str, nonlinearity: Any) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{who}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def _tensor(x: Any, who: str = "", what: str = "input") -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (tuple, list)) and any(isinstance(v, Tensor) for v in x):
        # (a list of Tensors would be stacked into a constant: its gradients lost)
        raise TypeError(f"{who}: {what} must be a Tensor, got a {type(x).__name__} of Tensors; stack them "
                        "(tl.stack) into one Tensor")
    return Tensor(np.asarray(x))


def _hc(who: str, hx: Any, names: str) -> tuple:
    """An LSTM's ``hx``: None (zeros) or the pair ``names`` (both given)."""
    if hx is None:
        return None, None
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"{who}: hx must be a tuple {names}, got "
                        f"{type(hx).__name__ if not isinstance(hx, (tuple, list)) else f'{len(hx)} values'}")
    if (hx[0] is None) != (hx[1] is None):
        raise ValueError(f"{who}: give both of {names}, or neither")
    return hx[0], hx[1]


def _zeros(shape: tuple, dtype: Any, batched: bool) -> Tensor:
    t = Tensor(np.zeros(shape, dtype), batched=batched)
    t._origin = ()  # (a constant: it names no batch, batchstate.origin)
    return t


class _Weights:
    """Creates one set of torch-named recurrent weights on a module, uniform in +-1/sqrt(H)."""

    def __init__(self, module: Module, r: np.random.Generator, dtype: np.dtype, hidden: int) -> None:
        self.m, self.r, self.dtype, self.k = module, r, dtype, 1.0 / np.sqrt(hidden)

    def add(self, name: str, shape: tuple) -> None:
        data = self.r.uniform(-self.k, self.k, shape).astype(self.dtype)
        setattr(self.m, name, Tensor(data, requires_grad=True))


# ------------------------------------------------------------------ the sequence layers ----
class _RNNBase(Module):
    """The layer shared by RNN, LSTM and GRU: ``num_layers`` stacked layers, each run over time
    in one or two directions; layer k > 0 reads layer k-1's output (both directions
    concatenated), with dropout between layers in training mode."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int, bias: bool,
                 batch_first: bool, dropout: float, bidirectional: bool, rng: Rng, dtype: Any,
                 proj_size: int = 0) -> None:
        who = type(self).__name__
        self.input_size = _size(who, "input_size", input_size)
        self.hidden_size = _size(who, "hidden_size", hidden_size)
        self.num_layers = _size(who, "num_layers", num_layers)
        self.bias = check_bool(who, "bias", bias)
        self.batch_first = check_bool(who, "batch_first", batch_first)
        self.bidirectional = check_bool(who, "bidirectional", bidirectional)
        if isinstance(dropout, (bool, np.bool_)) or not isinstance(dropout, numbers.Real):
            raise TypeError(f"{who}: dropout must be a real number (a probability), got {dropout!r}")
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"{who}: dropout must be a probability between 0 and 1, got {dropout!r}")
        self.dropout = float(dropout)
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(f"{who}: dropout acts between stacked layers, so dropout={dropout} with num_layers=1 "
                          "has no effect", UserWarning, stacklevel=3)
        self.mode = mode
        self.proj_size = _size(who, "proj_size", proj_size, 0)
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"{who}: proj_size ({self.proj_size}) must be smaller than hidden_size "
                             f"({self.hidden_size})")
        dt = param_dtype(who, dtype)
        r = as_generator(rng)
        self._drop_rng = None if rng is None else r  # None: the library's generator at forward time
        G, H, P = _STEPS[mode][0], self.hidden_size, self.proj_size or self.hidden_size
        w = _Weights(self, r, dt, H)
        D = 2 if self.bidirectional else 1
        for k in range(self.num_layers):
            fan_in = self.input_size if k == 0 else D * P
            for sfx in [f"_l{k}", f"_l{k}_reverse"][:D]:
                w.add("weight_ih" + sfx, (G * H, fan_in))
                w.add("weight_hh" + sfx, (G * H, P))
                if self.bias:
                    w.add("bias_ih" + sfx, (G * H,))
                    w.add("bias_hh" + sfx, (G * H,))
                if self.proj_size:
                    w.add("weight_hr" + sfx, (P, H))

    def reset_parameters(self) -> None:
        """Every parameter drawn again, uniform in +-1/sqrt(hidden_size) (``nn.reset``)."""
        from .reset import recurrent
        recurrent(self)

    def _who(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def flatten_parameters(self) -> None:
        """Nothing to do (torch compacts its weights for cuDNN here); kept so torch code runs."""

    @property
    def all_weights(self) -> list:
        """Per layer and direction, its parameters in torch's order: weight_ih, weight_hh, then
        bias_ih, bias_hh (with bias) and weight_hr (with proj_size)."""
        names = ["weight_ih", "weight_hh"] + ["bias_ih", "bias_hh"] * self.bias + ["weight_hr"] * bool(self.proj_size)
        return [[getattr(self, f"{n}_l{k}{sfx}") for n in names]
                for k in range(self.num_layers) for sfx in ["", "_reverse"][:1 + self.bidirectional]]

    # -------------------------------------------------------------- input and states ----
    def _sequence(self, input: Any) -> tuple:
        """The input as (N, T, F), whether it is unbatched, and whether it carries samples."""
        who = self._who()
        x = _tensor(input, who)
        shape, batched = x.data.shape, bool(x._bs & BATCHED)
        if x.ndim not in (2, 3):
            raise ValueError(f"{who}: input must be (T, {self.input_size}) unbatched or "
                             f"{'(N, T' if self.batch_first else '(T, N'}, {self.input_size}), got shape {shape}")
        if batched and (x.ndim == 2 or not self.batch_first):
            raise ValueError(f"{who}: a batched input (axis 0: the samples) must have shape (B, T, "
                             f"{self.input_size}) with batch_first=True; got shape {shape} with "
                             f"batch_first={self.batch_first} (axis 0 would be "
                             f"{'time' if x.ndim == 3 else 'time, unbatched'}). Build the layer with "
                             "batch_first=True")
        if shape[-1] != self.input_size:
            raise ValueError(f"{who}: input must have {self.input_size} features (its last axis), got shape {shape}")
        unbatched = x.ndim == 2
        seq = x.unsqueeze(0) if unbatched else (x if self.batch_first else x.swapaxes(0, 1))
        if seq.shape[1] == 0:
            raise ValueError(f"{who}: the sequence length must be at least 1, got input of shape {shape}")
        return seq, unbatched, batched

    def _initial(self, hx: Any, cx: Any, N: int, unbatched: bool, batched: bool, dtype: Any) -> list:
        """Per layer and direction, the initial ``(h,)`` (``(h, c)`` for an LSTM)."""
        hs = self._states(hx, "h_0", N, unbatched, batched, dtype, self.proj_size or self.hidden_size)
        if self.mode != "LSTM":
            return [(h,) for h in hs]
        return list(zip(hs, self._states(cx, "c_0", N, unbatched, batched, dtype, self.hidden_size)))

    def _states(self, hx: Any, name: str, N: int, unbatched: bool, batched: bool, dtype: Any, H: int) -> list:
        """One (N, H) initial state per layer and direction, from ``hx`` or zeros."""
        D, L = 2 if self.bidirectional else 1, self.num_layers
        if hx is None:
            return [_zeros((N, H), dtype, batched) for _ in range(D * L)]
        h = _tensor(hx, self._who(), name)
        if unbatched:
            want = (D * L, H)
        elif h._bs & BATCHED:
            if not batched:
                raise ValueError(f"{self._who()}: {name} is batched but the input is not")
            want = (N, D * L, H)  # the sample axis first, as every batched tensor
        else:
            want = (D * L, N, H)
        if h.data.shape != want:
            lay = "batched: (B, D*num_layers, H)" if h._bs & BATCHED else "(D*num_layers, N, H)"
            raise ValueError(f"{self._who()}: {name} must have shape {want} ({lay}) for an input of "
                             f"{N} sequence{'s' if N != 1 else ''}, got {h.data.shape}")
        if unbatched:
            return [h[k].unsqueeze(0) for k in range(D * L)]
        return [h[:, k] if h._bs & BATCHED else h[k] for k in range(D * L)]

    # -------------------------------------------------------------- the recurrence ------
    def _direction(self, seq: Tensor, state: State, sfx: str, reverse: bool) -> tuple:
        """Run one layer in one direction over seq (N, T, F): out (N, T, H) and the last state."""
        step: Callable = _STEPS[self.mode][1]
        w_hh = getattr(self, "weight_hh" + sfx)
        b_ih, b_hh = (getattr(self, "bias_ih" + sfx), getattr(self, "bias_hh" + sfx)) if self.bias else (None, None)
        gx = F.linear(seq, getattr(self, "weight_ih" + sfx), b_ih)  # (N, T, G*H): the whole sequence at once
        w_hr = getattr(self, "weight_hr" + sfx) if self.proj_size else None
        T = seq.shape[1]
        outs: list = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            state = step(gx[:, t], state, w_hh, b_hh)
            if w_hr is not None:  # LSTM with proj_size: h_t = (o * tanh(c_t)) W_hr^T
                state = (F.linear(state[0], w_hr), state[1])
            outs[t] = state[0]
        return stack(outs, 1), state

    def _run(self, input: Any, hx: Any, cx: Any = None) -> tuple:
        """(output, [h_n] or [h_n, c_n]) in torch's layouts (a PackedSequence in, one out)."""
        from .utils.rnn import PackedSequence

        if isinstance(input, PackedSequence):
            from .recurrent_packed import run_packed
            return run_packed(self, input, hx, cx)
        seq, unbatched, batched = self._sequence(input)
        N, dtype = seq.shape[0], seq.data.dtype if seq.data.dtype.kind == "f" else np.float64
        states = self._initial(hx, cx, N, unbatched, batched, dtype)
        D = 2 if self.bidirectional else 1
        finals: list = []
        x = seq
        for k in range(self.num_layers):
            outs = []
            for d in range(D):
                out, last = self._direction(x, states[k * D + d], f"_l{k}" + ("_reverse" if d else ""), d == 1)
                outs.append(out)
                finals.append(last)
            x = outs[0] if D == 1 else cat(outs, -1)
            if self.dropout > 0.0 and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True, rng=self._drop_rng)
        ends = [stack([s[i] for s in finals], 0) for i in range(len(finals[0]))]  # (D*L, N, H)
        if unbatched:
            return x.squeeze(0), [unmark(e[:, 0]) for e in ends]  # (torch's outputs own their memory)
        if batched and not seq._bs & MIXED:
            path = module_path()
            where = f" (module '{path}')" if path and path != type(self).__name__ else ""
            why = (f"'{self._who()}'{where} returns h_n/c_n with torch's layout (D*num_layers, B, H), the sample "
                   "axis second, which per-sample gradients cannot follow; build the loss from the output instead "
                   "(e.g. output[:, -1] with batch_first=True)")
            for e in ends:
                e._bs, e._mix = MIXED, why
        return (x if self.batch_first else unmark(x.swapaxes(0, 1))), ends

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}" + (f", proj_size={self.proj_size}" if self.proj_size else "")
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class RNN(_RNNBase):
    """Elman RNN: for each layer and time step t,

        h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   act = tanh or relu,

    with x_t the input (layer 0) or the previous layer's output (both directions concatenated,
    after dropout in training mode). ``forward(input, hx=None) -> (output, h_n)``: input
    (T, N, F) or (N, T, F) with ``batch_first=True``, or unbatched (T, F); output (.., T, D*H);
    h_n (D*num_layers, N, H) whatever ``batch_first``. ``hx``: (D*num_layers, N, H), or for a
    batched input a batched (B, D*num_layers, H). Missing states are zeros. A PackedSequence
    input gives a PackedSequence output, and h_n at each sequence's own last valid step
    (the reverse direction starts there), in the batch's original order."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng: Rng = None, dtype: Any = np.float64, *,
                 device: Any = None) -> None:
        check_device(type(self).__name__, device)
        super().__init__(_mode("RNN", nonlinearity), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, rng, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> tuple:
        out, (h_n,) = self._run(input, hx)
        return out, h_n


class GRU(_RNNBase):
    """Gated recurrent unit: for each layer and time step t, with gates in the order r, z, n,

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Shapes, ``hx`` and returns as ``RNN``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng: Rng = None, dtype: Any = np.float64, *,
                 device: Any = None) -> None:
        check_device(type(self).__name__, device)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple:
        out, (h_n,) = self._run(input, hx)
        return out, h_n


class LSTM(_RNNBase):
    """Long short-term memory: for each layer and time step t, with gates in the order i, f, g, o,

        [a_i, a_f, a_g, a_o] = x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        c_t = sigmoid(a_f) * c_{t-1} + sigmoid(a_i) * tanh(a_g)
        h_t = sigmoid(a_o) * tanh(c_t)

    ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``; shapes as ``RNN``.
    With ``proj_size`` P > 0 (P < H) the hidden state is projected, ``h_t = (sigmoid(a_o) *
    tanh(c_t)) W_hr^T`` with ``weight_hr_l{k}`` (P, H): ``weight_hh`` is (4H, P), layers above
    the first read D*P features, output (.., T, D*P) and h_n (D*num_layers, N, P); c_n keeps H."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 rng: Rng = None, dtype: Any = np.float64, *,
                 device: Any = None) -> None:
        check_device(type(self).__name__, device)
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         rng, dtype, proj_size)

    def forward(self, input: Any, hx: Any = None) -> tuple:
        out, (h_n, c_n) = self._run(input, *_hc(self._who(), hx, "(h_0, c_0)"))
        return out, (h_n, c_n)


# ------------------------------------------------------------------ the cells --------------
class _CellBase(Module):
    """One time step: ``weight_ih`` (G*H, in), ``weight_hh`` (G*H, H), ``bias_ih``, ``bias_hh``
    (G*H,). Input (N, in) or unbatched (in,); states (N, H) or (H,). With a batched input the
    sample axis is axis 0 of input and states alike, so everything keeps per-sample
    gradients."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool, rng: Rng, dtype: Any,
                 chunks: Optional[int] = None) -> None:
        who = type(self).__name__
        self.input_size = _size(who, "input_size", input_size)
        self.hidden_size = _size(who, "hidden_size", hidden_size)
        self.bias = check_bool(who, "bias", bias)
        self.mode = mode
        G, H = _STEPS[mode][0] if chunks is None else chunks, self.hidden_size  # (G gate blocks)
        w = _Weights(self, as_generator(rng), param_dtype(who, dtype), H)
        w.add("weight_ih", (G * H, self.input_size))
        w.add("weight_hh", (G * H, H))
        if self.bias:
            w.add("bias_ih", (G * H,))
            w.add("bias_hh", (G * H,))

    def reset_parameters(self) -> None:
        """Every parameter drawn again, uniform in +-1/sqrt(hidden_size) (``nn.reset``)."""
        from .reset import recurrent
        recurrent(self)

    def _who(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _step(self, input: Any, states: tuple) -> tuple:
        who, H = self._who(), self.hidden_size
        x = _tensor(input, who)
        if x.ndim not in (1, 2) or x.data.shape[-1] != self.input_size:
            raise ValueError(f"{who}: input must have shape (N, {self.input_size}) or ({self.input_size},), "
                             f"got {x.data.shape}")
        unbatched, batched = x.ndim == 1, bool(x._bs & BATCHED)
        if unbatched:
            x = x.unsqueeze(0)
        N = x.shape[0]
        dtype = x.data.dtype if x.data.dtype.kind == "f" else np.float64
        state = []
        for name, s in states:
            if s is None:
                state.append(_zeros((N, H), dtype, batched))
                continue
            s = _tensor(s, who, name)
            want = (H,) if unbatched else (N, H)
            if s.data.shape != want:
                raise ValueError(f"{who}: {name} must have shape {want} for an input of shape "
                                 f"{_tensor(input).data.shape}, got {s.data.shape}")
            state.append(s.unsqueeze(0) if unbatched else s)
        b = (self.bias_ih, self.bias_hh) if self.bias else (None, None)
        out = _STEPS[self.mode][1](F.linear(x, self.weight_ih, b[0]), tuple(state), self.weight_hh, b[1])
        return tuple(o.squeeze(0) for o in out) if unbatched else out

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
        return s + (", nonlinearity='relu'" if self.mode == "RNN_RELU" else "")


class RNNCell(_CellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu.
    ``forward(input, hx=None) -> h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 rng: Rng = None, dtype: Any = np.float64, *,
                 device: Any = None) -> None:
        check_device(type(self).__name__, device)
        super().__init__(_mode("RNNCell", nonlinearity), input_size, hidden_size, bias, rng, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        return self._step(input, (("hx", hx),))[0]


class _FixedModeCell(_CellBase):
    """A cell whose step is fixed by the class: ``_MODE``, a key of ``_STEPS``."""

    _MODE: str

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, rng: Rng = None,
                 dtype: Any = np.float64, *,
                 device: Any = None) -> None:
        check_device(type(self).__name__, device)
        super().__init__(self._MODE, input_size, hidden_size, bias, rng, dtype)


class GRUCell(_FixedModeCell):
    """r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr), z likewise,
    n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)), h' = (1 - z) * n + z * h.
    ``forward(input, hx=None) -> h'``."""

    _MODE = "GRU"

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        return self._step(input, (("hx", hx),))[0]


class LSTMCell(_FixedModeCell):
    """[a_i, a_f, a_g, a_o] = x W_ih^T + b_ih + h W_hh^T + b_hh,
    c' = sigmoid(a_f) * c + sigmoid(a_i) * tanh(a_g), h' = sigmoid(a_o) * tanh(c').
    ``forward(input, (h, c)=None) -> (h', c')``."""

    _MODE = "LSTM"

    def forward(self, input: Any, hx: Any = None) -> tuple:
        h, c = _hc(self._who(), hx, "(h, c)")
        h, c = self._step(input, (("h", h), ("c", c)))
        return h, c
