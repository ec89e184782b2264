"""Transformer encoder and decoder layers, their stacks and the encoder-decoder ``Transformer``,
shaped like PyTorch's.

Parameters carry torch's names (``self_attn.in_proj_weight``, ``self_attn.in_proj_bias``,
``self_attn.out_proj.weight``/``bias``, ``multihead_attn.*`` in a decoder layer,
``linear1.*``, ``linear2.*``, ``norm1.*`` ... ``norm3.*``; ``layers.{i}.`` and ``norm.`` in a
stack), so a torch model's state dict loads by name and gives the same outputs in eval mode.

Everything is built from existing modules (MultiheadAttention, Linear, LayerNorm, Dropout)
and functions (relu, gelu), so gradients are exact, and per-sample gradients too: every
operation acts on one sample's tokens at a time (attention mixes the tokens of a sample,
never two samples), and a key padding mask is a per-sample constant.

``batch_first`` defaults to False, as in torch, so torch code that feeds (S, N, E) gets
torch's result. A batched input (axis 0: the samples) needs ``batch_first=True``; with False
its axis 0 would be read as the sequence, so it is refused with a ValueError naming the
layer (the recurrent layers do the same). MultiheadAttention alone keeps its own default.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any, Callable, Optional, Union

import numpy as np

from ..batchstate import BATCHED
from ..conventions import check_bool
from ..factories import as_dtype, check_device, param_dtype
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .attention import MultiheadAttention
from .init import xavier_uniform_
from .layers import Dropout, LayerNorm
from .module import Linear, Module, ModuleList, _as_tensor

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder"]

Rng = Union[None, int, np.random.Generator]
Mask = Any  # None, a bool or float numpy array or Tensor


def _activation(who: str, activation: Any) -> Callable:
    """"relu" / "gelu" as the function, a callable (a function or a module) as it is."""
    if isinstance(activation, str):
        if activation in ("relu", "gelu"):
            return F.relu if activation == "relu" else F.gelu
        raise ValueError(f"{who}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    if not callable(activation):
        raise TypeError(f"{who}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return activation


def _count(who: str, name: str, v: Any, lo: int = 1) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < lo:
        raise ValueError(f"{who}: {name} must be an int >= {lo}, got {v!r}")
    return int(v)


class _Layer(Module):
    """What the encoder and decoder layers share: sizes, the feed-forward block, input and
    mask checks. The constructor makes the modules in torch's order; ``_CROSS`` says whether
    the layer also attends to a memory (``multihead_attn``, ``norm3``, ``dropout3``)."""

    _CROSS: bool

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Union[str, Callable] = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, rng: Rng = None, *, dtype: Any = np.float64,
                 device: Any = None) -> None:
        who = type(self).__name__
        dtype, cross = param_dtype(who, dtype, device), self._CROSS
        self.d_model, self.nhead = _count(who, "d_model", d_model), _count(who, "nhead", nhead)
        if d_model % nhead:
            raise ValueError(f"{who}: d_model={d_model} is not divisible by nhead={nhead}")
        self.dim_feedforward = _count(who, "dim_feedforward", dim_feedforward)
        self.batch_first = check_bool(who, "batch_first", batch_first)
        self.norm_first = check_bool(who, "norm_first", norm_first)
        check_bool(who, "bias", bias)
        if isinstance(dropout, (bool, np.bool_)) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(f"{who}: dropout must be a real number in [0, 1], got {dropout!r}")
        g = None if rng is None else as_generator(rng)  # None: the default generator, at each draw

        def attention() -> MultiheadAttention:
            return MultiheadAttention(d_model, nhead, bias=bias, batch_first=batch_first, rng=g,
                                      dropout=float(dropout), dtype=dtype)

        def norm() -> LayerNorm:
            ln = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
            if not bias:
                ln.bias = None  # (torch's LayerNorm(bias=False): a weight only)
            return ln

        self.self_attn = attention()
        if cross:
            self.multihead_attn = attention()
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, rng=g, dtype=dtype)
        self.dropout = Dropout(dropout, rng=g)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, rng=g, dtype=dtype)
        self.norm1, self.norm2 = norm(), norm()
        if cross:
            self.norm3 = norm()
        self.dropout1, self.dropout2 = Dropout(dropout, rng=g), Dropout(dropout, rng=g)
        if cross:
            self.dropout3 = Dropout(dropout, rng=g)
        self.activation = _activation(who, activation)

    def _who(self) -> str:
        return f"{type(self).__name__}(d_model={self.d_model}, nhead={self.nhead})"

    def _input(self, x: Any, name: str) -> tuple:
        """(x as a Tensor, N or None when unbatched, sequence length), after the checks."""
        t, E = _as_tensor(x), self.d_model
        shape = t.data.shape
        lay = "(N, S" if self.batch_first else "(S, N"
        if t.ndim not in (2, 3) or shape[-1] != E:
            raise ValueError(f"{self._who()}: {name} must have shape {lay}, {E}) or (S, {E}) unbatched, got "
                             f"shape {shape}")
        if t._bs & BATCHED and (t.ndim == 2 or not self.batch_first):
            raise ValueError(f"{self._who()}: a batched {name} (axis 0: the samples) must have shape (B, S, {E}) "
                             f"with batch_first=True; got shape {shape} with batch_first={self.batch_first} "
                             "(axis 0 would be read as the sequence). Build the layer with batch_first=True")
        if t.ndim == 2:
            return t, None, shape[0]
        return (t, shape[0], shape[1]) if self.batch_first else (t, shape[1], shape[0])

    def _masks(self, N: Optional[int], L: int, S: int, mask: Mask, kpm: Mask, names: tuple) -> None:
        """An attention mask (L, S) or (N*nhead, L, S); a key padding mask (N, S), or (S,) unbatched."""
        H = self.nhead
        if mask is not None:
            shape = np.shape(mask.data if isinstance(mask, Tensor) else mask)
            heads = H if N is None else N * H
            if shape not in ((L, S), (heads, L, S)):
                raise ValueError(f"{self._who()}: {names[0]} must have shape ({L}, {S}) or ({heads}, {L}, {S}), "
                                 f"got {shape}")
        if kpm is not None:
            shape = np.shape(kpm.data if isinstance(kpm, Tensor) else kpm)
            want = (S,) if N is None else (N, S)
            if shape != want:
                raise ValueError(f"{self._who()}: {names[1]} must have shape {want} (True: ignore that key), "
                                 f"got {shape}")

    def _attend(self, attn: MultiheadAttention, drop: Dropout, x: Tensor, kv: Tensor, mask: Mask, kpm: Mask,
                causal: bool) -> Tensor:
        out = attn(x, kv, kv, attn_mask=mask, need_weights=False, is_causal=causal, key_padding_mask=kpm)[0]
        return drop(out)

    def _ff(self, x: Tensor, drop: Dropout) -> Tensor:
        """drop(linear2(dropout(activation(linear1(x)))))"""
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def extra_repr(self) -> str:
        s = f"d_model={self.d_model}, nhead={self.nhead}, dim_feedforward={self.dim_feedforward}"
        return s + f", batch_first={self.batch_first}, norm_first={self.norm_first}"


class TransformerEncoderLayer(_Layer):
    """``TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation="relu", layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
    rng=None)``: self-attention then a feed-forward block, each with a residual connection:

        post-norm:  x = norm1(x + SA(x));  x = norm2(x + FF(x))
        pre-norm:   x = x + SA(norm1(x));  x = x + FF(norm2(x))     (norm_first=True)
        SA(x) = dropout1(self_attn(x, x, x, src_mask, src_key_padding_mask)),
        FF(x) = dropout2(linear2(dropout(activation(linear1(x)))))

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: src (S, N, E),
    (N, S, E) with ``batch_first=True``, or (S, E) unbatched. ``batch_first`` defaults to False
    as in torch; a batched src (axis 0: the samples) needs ``batch_first=True`` and is refused
    otherwise. ``is_causal=True`` applies the causal mask, with or without ``src_mask``.
    ``rng`` draws the initial weights and the dropout masks (None: the library's default
    generator, which ``tl.manual_seed`` governs). ``activation`` is "relu", "gelu" or a callable."""

    _CROSS = False

    def forward(self, src: Any, src_mask: Mask = None, src_key_padding_mask: Mask = None,
                is_causal: bool = False) -> Tensor:
        check_bool(self._who(), "is_causal", is_causal)
        x, N, S = self._input(src, "src")
        self._masks(N, S, S, src_mask, src_key_padding_mask, ("src_mask", "src_key_padding_mask"))

        def sa(h: Tensor) -> Tensor:
            return self._attend(self.self_attn, self.dropout1, h, h, src_mask, src_key_padding_mask, is_causal)

        if self.norm_first:
            x = x + sa(self.norm1(x))
            return x + self._ff(self.norm2(x), self.dropout2)
        x = self.norm1(x + sa(x))
        return self.norm2(x + self._ff(x, self.dropout2))


class TransformerDecoderLayer(_Layer):
    """``TransformerDecoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation="relu", layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
    rng=None)``: self-attention over the target, attention to the memory (``multihead_attn``),
    then the feed-forward block, each with a residual connection:

        post-norm:  x = norm1(x + SA(x));  x = norm2(x + MA(x, m));  x = norm3(x + FF(x))
        pre-norm:   x = x + SA(norm1(x));  x = x + MA(norm2(x), m);  x = x + FF(norm3(x))
        MA(x, m) = dropout2(multihead_attn(x, m, m, memory_mask, memory_key_padding_mask))

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``; layouts,
    ``batch_first``, ``rng`` and ``activation`` as in TransformerEncoderLayer."""

    _CROSS = True

    def forward(self, tgt: Any, memory: Any, tgt_mask: Mask = None, memory_mask: Mask = None,
                tgt_key_padding_mask: Mask = None, memory_key_padding_mask: Mask = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        who = self._who()
        check_bool(who, "tgt_is_causal", tgt_is_causal)
        check_bool(who, "memory_is_causal", memory_is_causal)
        x, N, T = self._input(tgt, "tgt")
        m, Nm, S = self._input(memory, "memory")
        if (N is None) != (Nm is None) or N != Nm:
            raise ValueError(f"{who}: tgt {x.data.shape} and memory {m.data.shape} must both be batched with the "
                             "same batch size, or both unbatched")
        self._masks(N, T, T, tgt_mask, tgt_key_padding_mask, ("tgt_mask", "tgt_key_padding_mask"))
        self._masks(N, T, S, memory_mask, memory_key_padding_mask, ("memory_mask", "memory_key_padding_mask"))

        def sa(h: Tensor) -> Tensor:
            return self._attend(self.self_attn, self.dropout1, h, h, tgt_mask, tgt_key_padding_mask, tgt_is_causal)

        def ma(h: Tensor) -> Tensor:
            return self._attend(self.multihead_attn, self.dropout2, h, m, memory_mask, memory_key_padding_mask,
                                memory_is_causal)

        if self.norm_first:
            x = x + sa(self.norm1(x))
            x = x + ma(self.norm2(x))
            return x + self._ff(self.norm3(x), self.dropout3)
        x = self.norm1(x + sa(x))
        x = self.norm2(x + ma(x))
        return self.norm3(x + self._ff(x, self.dropout3))


def _copies(layer: Module, n: int) -> ModuleList:
    """n deep copies of ``layer``; the random generators they hold stay shared (not cloned), so
    the copies draw different dropout masks."""
    memo = {id(v): v for mod in layer.modules() for v in vars(mod).values() if isinstance(v, np.random.Generator)}
    return ModuleList([copy.deepcopy(layer, dict(memo)) for _ in range(n)])


class _Stack(Module):
    def _stack(self, layer: Any, cls: type, num_layers: int, norm: Optional[Module]) -> None:
        who = type(self).__name__
        if not isinstance(layer, Module):  # (a layer of one's own is copied too, as torch)
            raise TypeError(f"{who}: the layer to copy must be a Module (a {cls.__name__} or one of your own "
                            f"taking its forward arguments), got {type(layer).__name__}")
        if norm is not None and not isinstance(norm, Module):
            raise TypeError(f"{who}: norm must be a Module or None, got {type(norm).__name__}")
        self.num_layers = _count(who, "num_layers", num_layers, 0)
        self.layers = _copies(layer, self.num_layers)
        self.norm = norm

    def extra_repr(self) -> str:
        return f"num_layers={self.num_layers}"


class TransformerEncoder(_Stack):
    """``TransformerEncoder(encoder_layer, num_layers, norm=None, enable_nested_tensor=True)``:
    ``num_layers`` deep copies of ``encoder_layer`` (independent weights, equal at start) in
    sequence, then ``norm`` if given: x_{i+1} = layers[i](x_i, mask, src_key_padding_mask),
    out = norm(x_L). ``enable_nested_tensor`` and ``mask_check`` are accepted and ignored (the
    output at padded positions is computed like any other, not zeroed)."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Optional[Module] = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        self.enable_nested_tensor = check_bool("TransformerEncoder", "enable_nested_tensor", enable_nested_tensor)
        self.use_nested_tensor = self.enable_nested_tensor
        self.mask_check = check_bool("TransformerEncoder", "mask_check", mask_check)
        self._stack(encoder_layer, TransformerEncoderLayer, num_layers, norm)

    def forward(self, src: Any, mask: Mask = None, src_key_padding_mask: Mask = None,
                is_causal: Optional[bool] = None) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(_Stack):
    """``TransformerDecoder(decoder_layer, num_layers, norm=None)``: ``num_layers`` deep copies
    of ``decoder_layer`` in sequence, each attending to the same ``memory``, then ``norm`` if
    given. ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Optional[Module] = None) -> None:
        self._stack(decoder_layer, TransformerDecoderLayer, num_layers, norm)

    def forward(self, tgt: Any, memory: Any, tgt_mask: Mask = None, memory_mask: Mask = None,
                tgt_key_padding_mask: Mask = None, memory_key_padding_mask: Mask = None,
                tgt_is_causal: Optional[bool] = None, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=bool(tgt_is_causal),
                      memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """``Transformer(d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
    dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
    custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
    rng=None)``: torch's encoder-decoder model, ``encoder`` a TransformerEncoder with a final
    LayerNorm, ``decoder`` a TransformerDecoder with one (parameter names ``encoder.layers.{i}.*``,
    ``encoder.norm.*``, ``decoder.layers.{i}.*``, ``decoder.norm.*``, as torch's):

        memory = encoder(src, src_mask, src_key_padding_mask)
        out = decoder(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask)

    As torch, every weight matrix (the parameters of more than one dimension) of the layers it
    builds is then drawn again from Xavier's uniform law."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation: Union[str, Callable] = "relu",
                 custom_encoder: Optional[Module] = None, custom_decoder: Optional[Module] = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, rng: Rng = None, *, dtype: Any = np.float64, device: Any = None) -> None:
        dtype = param_dtype("Transformer", dtype, device)
        g = None if rng is None else as_generator(rng)
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias, g)

        def norm() -> LayerNorm:
            ln = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
            if not bias:
                ln.bias = None
            return ln

        self.encoder = custom_encoder if custom_encoder is not None else TransformerEncoder(
            TransformerEncoderLayer(*args, dtype=dtype), num_encoder_layers, norm())
        self.decoder = custom_decoder if custom_decoder is not None else TransformerDecoder(
            TransformerDecoderLayer(*args, dtype=dtype), num_decoder_layers, norm())
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.ndim > 1:
                xavier_uniform_(p, generator=g)

    def forward(self, src: Any, tgt: Any, src_mask: Mask = None, tgt_mask: Mask = None, memory_mask: Mask = None,
                src_key_padding_mask: Mask = None, tgt_key_padding_mask: Mask = None,
                memory_key_padding_mask: Mask = None, src_is_causal: Optional[bool] = None,
                tgt_is_causal: Optional[bool] = None, memory_is_causal: bool = False) -> Tensor:
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """The causal mask of ``sz`` positions as torch's: a float (sz, sz) tensor, -inf above the
        diagonal (a later position, not allowed) and 0 elsewhere (float64 unless ``dtype``)."""
        check_device("generate_square_subsequent_mask", device)
        n = _count("generate_square_subsequent_mask", "sz", sz, lo=0)
        dt = np.float64 if dtype is None else as_dtype("generate_square_subsequent_mask", dtype)
        return Tensor(np.triu(np.full((n, n), -np.inf), 1).astype(dt))
