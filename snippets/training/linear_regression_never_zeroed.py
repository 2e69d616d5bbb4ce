"""A tutorial's regression loop that never zeroes its gradients, and the fix.

The data are y = 2x + 5 + noise for 20 points with x in [0, 10]; the loss is
half the mean squared error; the tutorial takes 300 steps at rate 0.1. Its
stop rule, `if loss < 1: break`, is left out here, to show where the runs go;
the page runs the loop with it.
"""

import torch

from tensorkit.regression import fit_linear


def run(lr: float, zero_grad: bool, steps: int, every: int) -> None:
    torch.manual_seed(1)  # the same data and the same start for every run
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    w = torch.randn(1, requires_grad=True)
    b = torch.randn(1, requires_grad=True)
    for step in range(steps):
        loss = (0.5 * (y - (w * x + b)) ** 2).mean()
        loss.backward()
        with torch.no_grad():  # the tutorial writes w.data.sub_(lr * w.grad)
            w -= lr * w.grad
            b -= lr * b.grad
        if zero_grad:
            w.grad = None
            b.grad = None
        if step % every == 0 or step == steps - 1:
            print(f"step {step:4d}: loss {loss.item():9.3g}, "
                  f"w {w.item():9.3g}, b {b.item():9.3g}")


# As written: the gradients pile up, and the parameters swing for ever.
# (The tutorial's 300 steps, and one more to end on a round step.)
run(lr=0.1, zero_grad=False, steps=301, every=100)
#> step    0: loss       118, w      9.25, b     0.502
#> step  100: loss       839, w     -1.64, b      2.84
#> step  200: loss      13.8, w        -4, b      8.79
#> step  300: loss       890, w      7.12, b      7.22

# Zeroing alone is not enough: at this rate every step overshoots more.
run(lr=0.1, zero_grad=True, steps=40, every=10)
#> step    0: loss       118, w      9.25, b     0.502
#> step   10: loss  9.01e+09, w  5.57e+04, b  8.98e+03
#> step   20: loss  7.03e+17, w  4.92e+08, b  7.93e+07
#> step   30: loss  5.49e+25, w  4.35e+12, b  7.01e+11
#> step   39: loss  6.96e+32, w -1.55e+16, b  -2.5e+15

# Zeroed, and a rate below the limit: it converges, slowly, because x lies
# far from 0.
run(lr=0.05, zero_grad=True, steps=2000, every=500)
#> step    0: loss       118, w      4.83, b    -0.243
#> step  500: loss     0.532, w      2.15, b      4.39
#> step 1000: loss     0.528, w      2.12, b      4.62
#> step 1500: loss     0.528, w      2.11, b      4.63
#> step 1999: loss     0.528, w      2.11, b      4.63

# The exact least-squares answer for the same data, in one call.
torch.manual_seed(1)
x = torch.rand(20, 1) * 10
y = 2 * x + (5 + torch.randn(20, 1))
print(fit_linear(x, y))
#> LinearFit(weight=tensor([[2.1136]]), bias=tensor([4.6323]), rank=1)
