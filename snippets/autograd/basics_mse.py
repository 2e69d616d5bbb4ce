"""Autograd on a squared error: the loss's gradient for a weight and a bias."""

import torch

x = torch.tensor(5.0)  # the input
target = torch.tensor(0.0)  # what the model should output
w = torch.tensor(1.0, requires_grad=True)  # parameters: leaves, tracked
b = torch.tensor(3.0, requires_grad=True)

z = x * w + b  # the model's output, 8.
loss = torch.nn.MSELoss()(z, target)  # (8 - 0) ** 2
print(loss)
#> tensor(64., grad_fn=<MseLossBackward0>)

loss.backward()  # fills w.grad and b.grad
print("w.grad:", w.grad)
#> w.grad: tensor(80.)
print("b.grad:", b.grad)
#> b.grad: tensor(16.)
