"""tensorkit: small, checked helpers for learning PyTorch fundamentals.

Each submodule covers one topic of the documentation site and is used on its pages:

* `tensorkit.creation`: reproducible random tensors on any device; `describe` a tensor.
* `tensorkit.conversion`: tensors to NumPy, and whether two share memory.
* `tensorkit.shape`: why a view is or is not possible, and a reshape that says if it copied.
* `tensorkit.autograd`: inspect autograd's graph, draw it, and compute Jacobians fast.
* `tensorkit.regression`: data, mini-batches, closed-form fits and a training loop.
"""

from tensorkit import autograd, conversion, creation, regression, shape

__all__ = ["autograd", "conversion", "creation", "regression", "shape"]
__version__ = "0.1.0"
