"""PyTorch gradients for kgen's custom training steps.

The train-step adapter (`train_step`, `test_step`, `apply_gradients`) is
`kgen.backend`'s default: PyTorch's trainer lets the step update variables
in place.
"""

import torch


def value_and_grad(loss_fn, variables):
    loss, aux = loss_fn()
    values = [v.value for v in variables]
    grads = torch.autograd.grad(loss, values, allow_unused=True)
    # A variable the loss does not touch gets None; optimizers want tensors.
    grads = [
        torch.zeros_like(v) if g is None else g
        for g, v in zip(grads, values, strict=True)
    ]
    return loss.detach(), aux, grads


def input_gradient(fn, inputs):
    inputs = inputs.detach().requires_grad_(True)
    outputs = fn(inputs)
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return grad


def gradient_function(loss_fn, wrt, variables):
    # Eager PyTorch reads the variables' current values on every call.
    return lambda: value_and_grad(loss_fn, wrt)


# kgen does not distribute PyTorch training: one replica.
def replica_loss(loss):
    return loss


def replica_rows(draw, shape):
    return draw(shape)
