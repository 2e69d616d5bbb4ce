"""The logistic regression tutorial's loop without optimizer.zero_grad().

Without zero_grad() each backward() adds the new gradient to all the earlier
ones, so every step moves the weights by the sum of every gradient so far.
"""

import torch
from torch import nn


def blobs(mean_value: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The tutorial's data: 2 blobs of 100 points at +-mean_value, plus 1."""
    torch.manual_seed(10)
    n_data = torch.ones(100, 2)
    x0 = torch.normal(mean_value * n_data, 1) + 1
    x1 = torch.normal(-mean_value * n_data, 1) + 1
    return torch.cat((x0, x1)), torch.cat((torch.zeros(100), torch.ones(100)))


def run(zero_grad: bool, mean_value: float, iterations: int, every: int,
        stop_above: float = 1.0, decimals: int = 4,
        show_accuracy: bool = True) -> nn.Linear:
    train_x, train_y = blobs(mean_value)
    linear = nn.Linear(2, 1)
    model = nn.Sequential(linear, nn.Sigmoid())
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for iteration in range(iterations):
        y_pred = model(train_x).squeeze()
        loss = loss_fn(y_pred, train_y)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if iteration % every == 0:
            acc = (y_pred.ge(0.5).float() == train_y).float().mean().item()
            shown = f", accuracy {acc:.3f}" if show_accuracy else ""
            print(f"{iteration:4d}: loss {loss.item():.{decimals}f}{shown}")
            if acc > stop_above:
                break
    return linear


# The tutorial's data and stopping rule, with zero_grad() as it should be ...
fixed = run(zero_grad=True, mean_value=1.7, iterations=1000, every=150,
            stop_above=0.999)
#>    0: loss 0.3947, accuracy 0.920
#>  150: loss 0.0811, accuracy 0.985
#>  300: loss 0.0560, accuracy 0.990
#>  450: loss 0.0449, accuracy 0.995
#>  600: loss 0.0385, accuracy 0.995
#>  750: loss 0.0342, accuracy 0.995
#>  900: loss 0.0310, accuracy 1.000

# ... and as written: 100 % sooner, with weights fifteen times as large.
tutorial = run(zero_grad=False, mean_value=1.7, iterations=1000, every=150,
               stop_above=0.999)
#>    0: loss 0.3947, accuracy 0.920
#>  150: loss 0.0002, accuracy 1.000


def rounded(parameter: torch.Tensor) -> list[float]:
    return [round(value, 1) for value in parameter.flatten().tolist()]


print("with zero_grad:   ", rounded(fixed.weight), rounded(fixed.bias))
#> with zero_grad:    [-1.7, -1.9] [2.8]
print("without zero_grad:", rounded(tutorial.weight), rounded(tutorial.bias))
#> without zero_grad: [-26.1, -27.6] [46.4]

# Why: backward() adds to .grad. Three calls without zero_grad() (and no
# step in between) leave three times the gradient there.
train_x, train_y = blobs(1.7)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
for _ in range(3):
    nn.BCELoss()(model(train_x).squeeze(), train_y).backward()
accumulated = model[0].weight.grad.clone()
model.zero_grad()
nn.BCELoss()(model(train_x).squeeze(), train_y).backward()
print(accumulated, model[0].weight.grad, sep="\n")
#> tensor([[3.2482, 3.3658]])
#> tensor([[1.0827, 1.1219]])

# Where no line separates the classes, without zero_grad() the loss grows
# instead of settling. (Soon after, the sigmoid saturates: each sample it then
# gets wrong adds 0.5 to the loss, and which ones it gets wrong depends on the
# last bits of every step, so later losses differ from one device to another.)
for zero_grad in (True, False):
    print(f"zero_grad={zero_grad}")
    run(zero_grad=zero_grad, mean_value=0.5, iterations=101, every=50,
        decimals=1, show_accuracy=False)
#> zero_grad=True
#>    0: loss 0.6
#>   50: loss 0.6
#>  100: loss 0.5
#> zero_grad=False
#>    0: loss 0.6
#>   50: loss 0.7
#>  100: loss 4.0
