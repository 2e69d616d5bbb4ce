"""A tutorial's regression loop that never zeroes its gradients, and the fix.

The data are y = 2x + 5 + noise for 20 points with x in [0, 10]; the loss is
half the mean squared error; the tutorial takes 300 steps at rate 0.1.
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
            print(f"step {step:4d}: loss {loss.item():9.4g}, "
                  f"w {w.item():9.4g}, b {b.item():9.4g}")


# As written: the gradients pile up, and the parameters swing for ever.
run(lr=0.1, zero_grad=False, steps=300, every=100)
#> step    0: loss     117.7, w     9.251, b    0.5018
#> step  100: loss     839.2, w     -1.64, b     2.839
#> step  200: loss      13.8, w    -4.004, b     8.789
#> step  299: loss     477.3, w    -5.135, b      4.68

# Zeroing alone is not enough: at this rate every step overshoots more.
run(lr=0.1, zero_grad=True, steps=40, every=10)
#> step    0: loss     117.7, w     9.251, b    0.5018
#> step   10: loss  9.01e+09, w 5.573e+04, b      8981
#> step   20: loss 7.034e+17, w 4.924e+08, b 7.935e+07
#> step   30: loss  5.49e+25, w  4.35e+12, b  7.01e+11
#> step   39: loss 6.963e+32, w -1.549e+16, b -2.497e+15

# Zeroed, and a rate below the limit: it converges, slowly, because x lies
# far from 0.
run(lr=0.05, zero_grad=True, steps=2000, every=500)
#> step    0: loss     117.7, w     4.831, b   -0.2431
#> step  500: loss    0.5316, w     2.153, b      4.39
#> step 1000: loss    0.5279, w     2.115, b     4.621
#> step 1500: loss    0.5279, w     2.114, b     4.632
#> step 1999: loss    0.5279, w     2.114, b     4.632

# The exact least-squares answer for the same data, in one call.
torch.manual_seed(1)
x = torch.rand(20, 1) * 10
y = 2 * x + (5 + torch.randn(20, 1))
print(fit_linear(x, y))
#> LinearFit(weight=tensor([[2.1136]]), bias=tensor([4.6323]))
