"""tensorkit: small, checked helpers for learning PyTorch fundamentals.

Each submodule covers one topic of the documentation site and is used on its pages:

* `tensorkit.autograd`: inspect what autograd records about tensors.
"""

from tensorkit import autograd

__all__ = ["autograd"]
__version__ = "0.1.0"
