"""torch's dtype names as numpy dtypes: ``tl.float32``, ``tl.float64``, ``tl.float16``,
``tl.half``, ``tl.float``, ``tl.double``, ``tl.int64``, ``tl.long``, ``tl.int32``,
``tl.int``, ``tl.int16``, ``tl.short``, ``tl.int8``, ``tl.uint8``, ``tl.bool``, with torch's
meanings (``tl.float`` is float32, ``tl.int`` int32, ``tl.long`` int64). They go wherever a
dtype does (``x.to(tl.int64)``, ``tl.tensor(..., dtype=tl.float32)``, the factories) and
compare equal to ``x.dtype``.

They are attributes of the package only: ``from tinygrad_lite import *`` does not export
them, so Python's own ``float``, ``int`` and ``bool`` stay untouched in user code, and no
module of the package reads these names (the table below is the one place they are made).
"""

from __future__ import annotations

import numpy as np

ALIASES = {
    "float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
    "float16": np.float16, "half": np.float16, "int64": np.int64, "long": np.int64, "int32": np.int32,
    "int": np.int32, "int16": np.int16, "short": np.int16, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_,
}
DTYPES = {name: np.dtype(t) for name, t in ALIASES.items()}

__all__: list = []  # (nothing for ``import *``: the names would hide Python's float, int and bool)
