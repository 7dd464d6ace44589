"""check_grads names the argument whose derivative is wrong; check_backends
compares a whole function on both backends."""
import numpy as np

import nabla as nb

x = np.random.default_rng(0).standard_normal((2, 6, 6, 3))
w = np.random.default_rng(1).standard_normal((3, 3, 3, 4))


def f(x, w):
    y = nb.conv2d(x, w, padding=1)
    scale = np.abs(y.numpy()).max()           # a bug: .numpy() takes y's value as a constant ...
    return nb.max_pool2d(y, kernel_size=2) / scale   # ... so d scale / d(x, w) is lost


nb.testing.check_grads(lambda x, w: nb.max_pool2d(nb.conv2d(x, w, padding=1), kernel_size=2), (x, w))
print("conv2d + max_pool2d: derivatives agree with finite differences (orders 1 and 2, both modes)")
try:
    nb.testing.check_grads(f, (x, w), order=1, modes=("rev",))
except AssertionError as e:
    print(e)

nb.testing.check_backends(f, (x, w))
print("check_backends: value and gradients agree on 'cython' and 'reference'")
