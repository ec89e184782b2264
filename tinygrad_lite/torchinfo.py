"""Torch's Tensor queries and the methods a port of real (CPU, dense, real-valued) tensors
expects: the ``requires_grad`` flag as torch sets it (only a leaf's changes; a bool),
memory layout (``stride``, ``storage_offset``, ``data_ptr``, ``nbytes``,
``itemsize``), the always-false flags of kinds of tensor this library does not have (sparse,
quantized, complex, meta ...), the identity conversions (``conj``, ``resolve_conj``, ``real``,
``pin_memory``; ``H``, ``mH`` and ``adjoint`` are in ``torchlayout``) and a few method forms
of functions (``sum_to_size``, ``bernoulli``, ``multinomial``,
``hardshrink``, ``prelu``, ``apply_``, ``map_``); ``layout``, ``dim_order``, ``angle``,
``as_strided``, ``__dlpack__``, ``resize_`` and ``new`` call ``torchnames_c``.

Nothing here keeps state; the methods that write (``apply_``, ``map_``) follow the in-place
rule of ``torchwrite`` for data outside a graph.
"""

from __future__ import annotations

import builtins
import copy
from operator import attrgetter
from typing import Any, Callable, Optional

import numpy as np

from .conventions import _shape_arg, store
from .npufunc import array_ufunc
from .ops import base
from .ops.base import _root, broadcasts_to
from .ops.memory import row_order


def _rebuilt_leaf(data: np.ndarray, requires_grad: bool) -> Any:
    """An unpickled value that was computed in a graph: a leaf of its values."""
    from .tensor import Tensor
    return Tensor(data, requires_grad=requires_grad)


class InfoMethods:
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()
    __array_ufunc__ = array_ufunc  # (numpy's ufuncs on Tensors: ``npufunc``)

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickling (and ``copy.copy``): a leaf as it is; a value computed in the graph as a leaf
        with its values and ``requires_grad`` (the graph stays behind), as torch pickles it."""
        if self._op is not None:
            return _rebuilt_leaf, (self._data, True)
        return super().__reduce_ex__(protocol)

    def __deepcopy__(self, memo: dict) -> Any:
        """A leaf's deep copy (values, flag, grad); a value computed in the graph is refused, as
        torch refuses it (a copy of its whole graph would send no gradient to the originals).
        Inside a copied object (a module whose pruned or weight-normed weight is computed from
        its parameters) such a value is copied with its graph, which links the copies."""
        if self._op is not None and not memo:
            raise RuntimeError(f"deepcopy: a tensor computed in the graph (by op '{self._op.name}') cannot be "
                               "deep-copied, as in torch (only graph leaves can): detach() it first, or copy the "
                               "leaves it was computed from")
        return copy._reconstruct(self, memo, *super().__reduce_ex__(4))  # (what deepcopy does by default)

    def _set_requires_grad(self, value: Any) -> None:
        if value is not self._rg:
            if self._op is not None and isinstance(value, (bool, np.bool_)) and bool(value) != self._rg:
                raise RuntimeError(f"requires_grad: only a leaf's flag can change (as torch); this value was made by "
                                   f"op '{self._op.name}'. Use .detach() for a copy that needs no gradient")
            self.requires_grad_(value)  # (checks the type and the dtype)

    requires_grad = property(attrgetter("_rg"), _set_requires_grad, doc="Whether a gradient is computed for "
                             "this tensor (a leaf's flag may be set; torch's rule)")

    @property
    def last_batch(self) -> Optional[tuple]:
        """``(number of samples, the cost's reduction)`` of the last backward over a batched
        input that reached this leaf (what ``tl.distributed`` weighs its gradient by), or None.
        The reduction is "mean", "sum", None (a graph that mixed the samples), "scaled" (a
        weight of neither, ``(loss / 2).backward()``), "accumulated" (several backwards of
        mean costs added into one ``.grad``; of sum costs the sizes add up, still "sum"),
        "weighted" (a mean divided by a total of class weights, or leaving out ignored labels)
        or "shared" (a sum plus a term of no sample, such as a penalty on the weights)."""
        return getattr(self, "_last_batch", None)

    @last_batch.setter
    def last_batch(self, value: Optional[tuple]) -> None:
        self._last_batch = value

    # ------------------------------------------------------------ memory layout --------
    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return int(self.data.itemsize)  # type: ignore[attr-defined]

    @property
    def nbytes(self) -> int:
        """Bytes of the elements (numel * itemsize)."""
        return int(self.data.nbytes)  # type: ignore[attr-defined]

    def stride(self, dim: Any = None) -> Any:
        """The step in elements between neighbours along each axis (one axis: an int)."""
        d = row_order(self)  # (a weight SGD keeps in column order: row order again, as torch has it)
        steps = tuple(int(s) // d.itemsize for s in d.strides)
        if dim is None:
            return steps
        return steps[base.axis_of(d.ndim, dim, "stride")] if d.ndim else 1

    def data_ptr(self) -> int:
        """The address of the first element."""
        return int(self.data.__array_interface__["data"][0])  # type: ignore[attr-defined]

    def storage_offset(self) -> int:
        """Elements between the start of the memory this tensor views and its first element."""
        d = self.data  # type: ignore[attr-defined]
        start = int(_root(d).__array_interface__["data"][0])
        return (self.data_ptr() - start) // d.itemsize

    def get_device(self) -> int:
        """-1: the tensor lives in CPU memory (as torch says of CPU tensors)."""
        return -1

    is_cpu = property(lambda self: True, doc="True: every tensor lives in CPU memory.")
    is_sparse = is_sparse_csr = is_quantized = is_meta = is_mkldnn = is_nested = property(
        lambda self: False, doc="False: dense tensors only.")

    def is_complex(self) -> bool:
        """False: real dtypes only."""
        return False

    def is_conj(self) -> bool:
        return False

    def is_neg(self) -> bool:
        return False

    def is_inference(self) -> bool:
        """Whether this tensor was made inside an ``inference_mode()`` block (as torch's)."""
        return getattr(self, "_inf", False)

    def is_signed(self) -> bool:
        """Whether the dtype holds negative numbers (floats and signed integers)."""
        return self.data.dtype.kind in "fi"  # type: ignore[attr-defined]

    def is_nonzero(self) -> bool:
        """The truth of a one-element tensor (RuntimeError for any other size, as torch)."""
        d = self.data  # type: ignore[attr-defined]
        if d.size != 1:
            raise RuntimeError(f"is_nonzero: needs a tensor of one element, got shape {d.shape}")
        return bool(d.reshape(()) != 0)

    def is_shared(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf that requires grad: every such tensor keeps its ``.grad``."""
        return bool(self.requires_grad and self._op is not None)  # type: ignore[attr-defined]

    # ------------------------------------------------------------ identities -----------
    def conj(self) -> Any:
        """The tensor itself (a real tensor is its own conjugate)."""
        return self

    conj_physical = resolve_conj = resolve_neg = conj

    @property
    def real(self) -> Any:
        """The tensor itself (real dtypes only)."""
        return self

    @property
    def imag(self) -> Any:
        raise RuntimeError("imag: not defined for a tensor of a real dtype (the library has no complex dtypes)")

    def pin_memory(self, device: Any = None) -> Any:
        """The tensor itself (no device memory to pin)."""
        return self

    def share_memory_(self) -> Any:
        """The tensor itself (a process sharing its memory is not supported; nothing changes)."""
        return self

    # ------------------------------------------------------------ method forms ---------
    def sum_to_size(self, *sizes: Any, size: Any = None) -> Any:
        """Sum over broadcast axes down to ``size`` (given positionally or as torch's keyword
        ``size=``): the inverse of ``expand(size)``; the gradient is copied back over them."""
        shape = _shape_arg(sizes, size)
        d = self.data.shape  # type: ignore[attr-defined]
        if not broadcasts_to(shape, d):
            raise ValueError(f"sum_to_size: size {shape} is not expandable to the tensor's shape {d}")
        lead = len(d) - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and d[lead + i] != 1)
        out = self.sum(axes, keepdims=True) if axes else self  # type: ignore[attr-defined]
        return out.reshape(shape) if out.shape != shape else out

    def bernoulli(self, p: Any = None, *, generator: Any = None) -> Any:
        """A tensor of 0 and 1 drawn with probability ``self`` (or ``p``) of a 1, same shape
        and dtype; no gradient (``bernoulli_`` of a new tensor)."""
        out = base.Tensor(np.zeros(self.data.shape, self.data.dtype))  # type: ignore[attr-defined]
        return out.bernoulli_(self.data if p is None else p, generator=generator)  # type: ignore[attr-defined]

    def multinomial(self, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Any:
        """Indices drawn from the rows of this tensor of weights (``tl.multinomial``)."""
        from .factories import multinomial
        return multinomial(self, num_samples, replacement, generator=generator)

    def hardshrink(self, lambd: Any = 0.5) -> Any:
        """``F.hardshrink``: x where |x| > lambd, else 0."""
        from .nn.layers_more import hardshrink
        return hardshrink(self, lambd)

    def prelu(self, weight: Any) -> Any:
        """``F.prelu``: max(0, x) + weight * min(0, x)."""
        from .nn.activations_more import prelu
        return prelu(self, weight)

    def apply_(self, callable: Callable[[Any], Any]) -> Any:
        """Replace each element x by ``callable(x)`` in place (Python numbers in and out; data
        outside a graph, as torch's)."""
        if not builtins.callable(callable):
            raise TypeError(f"apply_: expects a callable, got {type(callable).__name__}")
        self._writable("apply_")  # type: ignore[attr-defined]
        d = self.data  # type: ignore[attr-defined]
        values = np.array([callable(v) for v in d.reshape(-1).tolist()], dtype=d.dtype).reshape(d.shape)
        return store(self, values, "apply_", "unsafe")

    def map_(self, tensor: Any, callable: Callable[[Any, Any], Any]) -> Any:
        """Replace each element x by ``callable(x, y)``, y the matching element of ``tensor``
        (broadcast to this shape), in place (data outside a graph)."""
        if not builtins.callable(callable):
            raise TypeError(f"map_: expects a callable, got {type(callable).__name__}")
        self._writable("map_", tensor)  # type: ignore[attr-defined]
        d = self.data  # type: ignore[attr-defined]
        other = np.asarray(tensor.data if isinstance(tensor, base.Tensor) else tensor)
        try:
            other = np.broadcast_to(other, d.shape)
        except ValueError:
            raise ValueError(f"map_: a tensor of shape {other.shape} does not broadcast to {d.shape}") from None
        pairs = zip(d.reshape(-1).tolist(), other.reshape(-1).tolist())
        values = np.array([callable(a, b) for a, b in pairs], dtype=d.dtype).reshape(d.shape)
        return store(self, values, "map_", "unsafe")


    # ------------------------------------------------ more of torch's (bodies: torchnames_c) ---
    is_xpu = is_mps = is_mtia = is_ipu = is_maia = is_vulkan = is_xla = property(
        lambda self: False, doc="False: CPU tensors only.")
    layout = property(lambda self: _c().strided, doc="``tl.strided``: every tensor is dense with strides.")
    output_nr = property(lambda self: 0, doc="0: the output's position among its op's outputs (one here).")

    @property
    def volatile(self) -> bool:
        """False, with torch's warning (a removed legacy flag)."""
        import warnings
        warnings.warn("volatile was removed (Tensor.volatile is always False)", UserWarning, stacklevel=2)
        return False

    def is_distributed(self) -> bool:
        return False

    def to_dense(self, dtype: Any = None, *, masked_grad: bool = True) -> Any:
        """The tensor itself (already dense), or a converted copy when ``dtype`` differs."""
        return self if dtype is None else self.to(dtype)  # type: ignore[attr-defined]

    def dim_order(self, *, ambiguity_check: bool = False) -> tuple:
        """The axes ordered from outermost to innermost in memory (by stride)."""
        return _c().dim_order(self, ambiguity_check)

    def angle(self) -> Any:
        """``tl.angle``: pi where x < 0, else 0 (nan stays nan); zero gradient."""
        return _c().angle(self)

    def as_strided(self, size: Any, stride: Any, storage_offset: Any = None) -> Any:
        """``tl.as_strided`` (strides in elements of the row-major values; a new tensor)."""
        return _c().as_strided(self, size, stride, storage_offset)

    def nonzero_static(self, *, size: int, fill_value: int = -1) -> Any:
        return _c().nonzero_static(self, size=size, fill_value=fill_value)

    def new_empty_strided(self, size: Any, stride: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                          requires_grad: bool = False, pin_memory: bool = False) -> Any:
        return _c().new_empty_strided(self, size, stride, dtype, device, requires_grad)

    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                   copy: Any = None) -> Any:
        """A DLPack capsule sharing this tensor's memory (refused while it requires grad)."""
        return _c().tensor_dlpack(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self) -> tuple:
        return (1, 0)  # DLPack's (CPU, device 0)

    def resize_(self, *sizes: Any, memory_format: Any = None) -> Any:
        """This tensor reshaped to ``sizes`` in place, keeping its leading elements (new ones 0)."""
        return _c().resize_sizes(self, sizes)

    def resize_as_(self, the_template: Any, *, memory_format: Any = None) -> Any:
        return _c().resize_as(self, the_template)

    def new(self, *args: Any, device: Any = None) -> Any:
        """torch's legacy constructor: ``t.new()``, ``t.new(2, 3)``, ``t.new([1, 2])``, ``t.new(other)``."""
        return _c().new(self, args, device)


def _c() -> Any:
    from . import torchnames_c
    return torchnames_c
