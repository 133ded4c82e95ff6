"""PyTorch gradients for kgen's training steps, and convolutions without copies.

The train-step adapter (`train_step`, `test_step`, `apply_gradients`) is
`kgen.backend`'s default: PyTorch's trainer lets the step update variables
in place.
"""

import torch
from keras import ops


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


# Keras' convolutions on PyTorch copy their NHWC inputs to a contiguous
# channels-first tensor and then back to channels-last memory, and slice
# transposed convolutions' outputs to size. A permuted NHWC tensor already is
# a channels-last tensor to torch, so these take none of those copies: the
# default DCGAN's step took 254 ms instead of 283 ms (2 CPU cores, batch 128,
# fastest of 4 runs; benchmarks/gan_throughput.py's plain PyTorch loop: 226).


def conv(inputs, kernel, strides, padding):
    """`keras.ops.conv` (NHWC, HWIO kernel, no dilation or groups)."""
    inputs, kernel = _channels_first(inputs, kernel)
    pads = [(0, 0), (0, 0)]
    if padding == "same":
        pads = [
            _same_padding(size, k, s)
            for size, k, s in zip(
                inputs.shape[2:], kernel.shape[2:], strides, strict=True
            )
        ]
    (top, bottom), (left, right) = pads
    if (top, left) != (bottom, right):
        # Uneven "same" padding (TensorFlow's: the extra row and column at the
        # end), which torch's `padding` cannot express.
        inputs = torch.nn.functional.pad(inputs, (left, right, top, bottom))
        top = left = 0
    outputs = torch.nn.functional.conv2d(
        inputs, kernel, stride=strides, padding=(top, left)
    )
    return outputs.permute(0, 2, 3, 1)


def conv_transpose(inputs, kernel, strides, padding):
    """`keras.ops.conv_transpose` (NHWC, HWOI kernel, no dilation or output
    padding). Where "same" would crop unevenly (an odd `kernel_size -
    strides`), Keras' op runs."""
    crop = _transpose_crop(kernel.shape[:2], strides, padding)
    if crop is None:
        return ops.conv_transpose(inputs, kernel, strides=strides, padding=padding)
    inputs, kernel = _channels_first(inputs, kernel)
    outputs = torch.nn.functional.conv_transpose2d(
        inputs, kernel, stride=strides, padding=crop
    )
    return outputs.permute(0, 2, 3, 1)


def _channels_first(inputs, kernel):
    """An NCHW view of NHWC `inputs` (channels-last in memory: no copy), and
    the kernel in torch's layout (HWIO -> OIHW, HWOI -> IOHW: a small copy)."""
    kernel = ops.convert_to_tensor(kernel)
    # As keras.ops: the inputs take the kernel's (compute) dtype.
    inputs = ops.convert_to_tensor(inputs).to(kernel.dtype)
    kernel = kernel.permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
    return inputs.permute(0, 3, 1, 2), kernel


def _same_padding(size, kernel_size, stride):
    """TensorFlow's "same" padding of one axis: `(before, after)`."""
    total = max((-(-size // stride) - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


def _transpose_crop(kernel_size, strides, padding):
    """torch's `padding` for a transposed convolution: what it crops from each
    side of the full `(n - 1) * stride + kernel` output; None if uneven."""
    if padding == "valid":
        # Keras pads a kernel smaller than its stride up to the stride.
        return (
            (0, 0)
            if all(k >= s for k, s in zip(kernel_size, strides, strict=True))
            else None
        )
    excess = [k - s for k, s in zip(kernel_size, strides, strict=True)]
    if any(e < 0 or e % 2 for e in excess):
        return None
    return tuple(e // 2 for e in excess)
