"""``tinygrad_lite.explore``, kept importable: the explorer lives in ``tinygrad_lite.viz.explorer``.

This name is the same module object as ``tinygrad_lite.viz.explorer`` (so patching an
attribute here patches the explorer itself); use ``tl.viz.explore`` in new code.
"""

import sys

from .viz import explorer as _explorer

sys.modules[__name__] = _explorer
