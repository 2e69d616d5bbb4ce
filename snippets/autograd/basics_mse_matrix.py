"""The same loss for a batch: two inputs of five features, three outputs."""

import torch

torch.manual_seed(0)  # w and b are random: seed them so the output reproduces

x = torch.ones(2, 5)
target = torch.zeros(2, 3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)

z = x @ w + b
loss = torch.nn.MSELoss()(z, target)
loss.backward()

# Every input feature is 1, so each row of w.grad equals b.grad.
print(w.grad)
#> tensor([[ 0.9170, -0.4015, -3.2085],
#>         [ 0.9170, -0.4015, -3.2085],
#>         [ 0.9170, -0.4015, -3.2085],
#>         [ 0.9170, -0.4015, -3.2085],
#>         [ 0.9170, -0.4015, -3.2085]])
print(b.grad)
#> tensor([ 0.9170, -0.4015, -3.2085])
print(w.grad.shape == w.shape)
#> True
