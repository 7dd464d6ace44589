"""profile: where the time of a training step goes."""
import numpy as np

import nabla as nb
from nabla import nn

model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(32, 64, 3, padding=1, seed=1), nn.ReLU(), nn.AvgPool2d(2),
                      nn.Flatten(), nn.Linear(8 * 8 * 64, 10, seed=2))
x = np.random.default_rng(0).standard_normal((32, 32, 32, 3)).astype(np.float32)
y = np.arange(32) % 10
step = nb.value_and_grad(lambda m: nn.functional.cross_entropy_loss(m(x), y))
step(model)                                   # warm up

with nb.profile() as prof:
    loss, grads = step(model)
print(prof)
prof.to_csv("profile.csv")                    # one row per call, for other tools
