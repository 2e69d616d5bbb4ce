"""Train the 784-256-256-10 MLP twice: right, and with a softmax at the end.

The data are made up, 10 classes of noisy 28x28 "images" around 10 random
prototypes, so that the program runs anywhere in a second. Eight epochs
instead of the source's 100.
"""

import torch
from torch import nn

from tensorkit.regression import batches, train

torch.manual_seed(0)
prototypes = torch.rand(10, 784)
labels = torch.randint(0, 10, (800,))
images = (prototypes[labels] + 0.8 * torch.randn(800, 784)).clamp(0, 1)
train_x, train_y = images[:640], labels[:640]
test_x, test_y = images[640:], labels[640:]


class ANN(nn.Module):
    def __init__(self, softmax_at_the_end: bool = False) -> None:
        super().__init__()
        self.hidden1 = nn.Linear(28 * 28, 256)
        self.act1 = nn.ReLU()
        self.hidden2 = nn.Linear(256, 256)
        self.act2 = nn.ReLU()
        self.output = nn.Linear(256, 10)
        self.softmax_at_the_end = softmax_at_the_end  # the mistake, on request

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a1 = self.act1(self.hidden1(x))
        a2 = self.act2(self.hidden2(a1))
        scores = self.output(a2)
        return scores.softmax(dim=1) if self.softmax_at_the_end else scores


for softmax_at_the_end in (False, True):
    torch.manual_seed(0)  # the same initial weights and batches for both
    model = ANN(softmax_at_the_end)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = train(model, nn.CrossEntropyLoss(), optimizer,
                    batches(train_x, train_y, batch_size=64), epochs=8)
    print(f"softmax at the end: {softmax_at_the_end}")
    print("  loss per epoch:", " ".join(f"{loss:.3f}" for loss in history))
#> softmax at the end: False
#>   loss per epoch: 2.217 1.506 0.277 0.008 0.001 0.000 0.000 0.000
#> softmax at the end: True
#>   loss per epoch: 2.303 2.297 2.286 2.268 2.228 2.148 2.022 1.874

# The right model classifies the held-out images; at test time no softmax is
# needed either: the largest score is the most probable class.
torch.manual_seed(0)
model = ANN()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
train(model, nn.CrossEntropyLoss(), optimizer, batches(train_x, train_y, 64),
      epochs=8)
model.eval()
with torch.no_grad():
    scores = model(test_x)
accuracy = (scores.argmax(dim=1) == test_y).float().mean().item()
print(f"test accuracy {accuracy:.3f}")
#> test accuracy 1.000
