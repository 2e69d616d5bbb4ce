"""Data, mini-batches, closed-form fits and a training loop (pages: ``docs/training/``).

* `synthetic_linear`, `two_blobs`: seeded data sets, the same on every device.
* `batches`: shuffled mini-batches of in-memory tensors, faster than a ``DataLoader``.
* `fit_linear`: least squares, with or without an intercept, in closed form.
* `fit_logistic`: logistic regression by Newton's method.
* `train`: the training loop, returning the loss of each epoch.
"""

from tensorkit.regression.data import synthetic_linear, two_blobs
from tensorkit.regression.linear import LinearFit, fit_linear
from tensorkit.regression.logistic import LogisticFit, fit_logistic
from tensorkit.regression.loop import train
from tensorkit.regression.minibatch import Batches, batches

__all__ = [
    "Batches",
    "LinearFit",
    "LogisticFit",
    "batches",
    "fit_linear",
    "fit_logistic",
    "synthetic_linear",
    "train",
    "two_blobs",
]
