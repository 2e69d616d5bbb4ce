"""d2l's concise linear regression: DataLoader, nn.Linear, MSELoss, SGD."""

import torch
from torch import nn
from torch.utils import data

from tensorkit.regression import synthetic_linear

true_w = torch.tensor([2, -3.4])
true_b = 4.2
features, labels = synthetic_linear(1000, true_w, true_b, seed=0)


def load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


torch.manual_seed(0)  # the DataLoader's shuffling and the initial weights
batch_size = 10
data_iter = load_array((features, labels), batch_size)
print([x.shape for x in next(iter(data_iter))])
#> [torch.Size([10, 2]), torch.Size([10, 1])]

net = nn.Sequential(nn.Linear(2, 1))
with torch.no_grad():  # the book writes net[0].weight.data.normal_(0, 0.01)
    net[0].weight.normal_(0, 0.01)
    net[0].bias.fill_(0)
loss = nn.MSELoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.03)

num_epochs = 3
for epoch in range(num_epochs):
    for X, y in data_iter:
        l = loss(net(X), y)  # noqa: E741  (the book names it l)
        trainer.zero_grad()
        l.backward()
        trainer.step()
    l = loss(net(features), labels)  # noqa: E741
    print(f"epoch {epoch + 1}, loss {l:.5f}")
#> epoch 1, loss 0.00022
#> epoch 2, loss 0.00010
#> epoch 3, loss 0.00010

w = net[0].weight.data
print("error in w:", true_w - w.reshape(true_w.shape))
#> error in w: tensor([-0.0002, -0.0002])
b = net[0].bias.data
print("error in b:", true_b - b)
#> error in b: tensor([0.0002])
