"""
Gradient checking
=================

Backpropagation is easy to get subtly wrong, and a wrong gradient still lets
the optimizer make some progress. The course therefore compares the analytic
gradient with central differences,

.. math::

    \\frac{\\partial J}{\\partial \\theta_p} \\approx
    \\frac{J(\\theta + \\epsilon e_p) - J(\\theta - \\epsilon e_p)}{2 \\epsilon},
    \\qquad \\epsilon = 10^{-4},

on a small network, and expects a relative difference below ``1e-9``.
"""

# %%
# The course's check
# ------------------
# :func:`~skbackprop.backprop.check_gradients` builds the course's 3-5-3
# network with 5 examples (weights and inputs from ``sin``, as in
# ``checkNNGradients.m``) and returns ``norm(num - grad) / norm(num + grad)``.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import LabelBinarizer

from skbackprop.backprop import (
    check_gradients,
    cost_function,
    init_thetas,
    numerical_gradient,
    roll,
    sigmoid,
    unroll,
)

for alpha in (0.0, 3.0):
    print(f"lambda = {alpha:g}: relative difference {check_gradients(alpha):.2e}")

# %%
# A real network
# --------------
# The same comparison on a network with two hidden layers at a random point,
# on 50 digit images (974 parameters, so 1,948 cost evaluations for the
# numerical gradient).
X, y = load_digits(return_X_y=True)
X, y = X[:50] / 16.0, y[:50]
Y = LabelBinarizer().fit_transform(y).astype(float)
layer_sizes = (64, 12, 8, 10)
params = unroll(init_thetas(layer_sizes, random_state=0))


def cost(p):
    return cost_function(p, layer_sizes, X, Y, alpha=1.0)


J, grad = cost(params)
num_grad = numerical_gradient(cost, params)
diff = np.linalg.norm(num_grad - grad) / np.linalg.norm(num_grad + grad)
print(f"{params.size} parameters, J = {J:.4f}, relative difference {diff:.2e}")

# %%
# Every component agrees: the points lie on the diagonal, and the differences
# are at the level of the finite-difference error, ``O(epsilon**2)``.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4))
ax1.scatter(num_grad, grad, s=6)
lims = [min(num_grad.min(), grad.min()), max(num_grad.max(), grad.max())]
ax1.plot(lims, lims, color="gray", lw=0.8)
ax1.set_xlabel("numerical gradient")
ax1.set_ylabel("backpropagation")
ax1.set_title("Each of the parameters")
ax2.semilogy(np.abs(num_grad - grad) + 1e-20, ".", ms=3)
ax2.set_xlabel("parameter index in the unrolled vector")
ax2.set_ylabel("|numerical - backprop|")
ax2.set_title("Absolute difference")
fig.tight_layout()

# %%
# What a wrong gradient looks like
# --------------------------------
# The usual slip in the hidden delta, multiplying by ``g(z)`` instead of the
# derivative ``g'(z) = g(z)(1 - g(z))``, is caught at once. Here it is written
# out for this network (forward pass, then the faulty backward pass):


def wrong_gradient(p):
    thetas = roll(p, layer_sizes)
    a = [X]
    zs = []
    for theta in thetas:
        zs.append(a[-1] @ theta[:, 1:].T + theta[:, 0])
        a.append(sigmoid(zs[-1]))
    delta = a[-1] - Y
    grads = []
    for i in range(len(thetas) - 1, -1, -1):
        D = np.hstack([delta.sum(0)[:, None], delta.T @ a[i]]) / len(X)
        D[:, 1:] += thetas[i][:, 1:] / len(X)
        grads.insert(0, D)
        if i > 0:
            delta = (delta @ thetas[i][:, 1:]) * sigmoid(zs[i - 1])  # the slip
    return unroll(grads)


bad = wrong_gradient(params)
bad_diff = np.linalg.norm(num_grad - bad) / np.linalg.norm(num_grad + bad)
print(f"with g(z) instead of g'(z): relative difference {bad_diff:.2e}")
plt.show()
