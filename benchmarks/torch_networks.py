"""Keras functional models translated into `torch.nn`, weights copied.

`benchmarks/gan_throughput.py` trains the networks kgen builds with a plain
PyTorch loop, to compare kgen on PyTorch against it. Translating them at run
time from the built Keras models, rather than writing them again in PyTorch,
keeps the loop on whatever architecture kgen's builders produce.
"""

import functools

import keras
import numpy as np


def torch_network(model: keras.Model):
    """A `torch.nn.Module` computing what the Keras functional `model` computes.

    Translates a chain of Keras layers (each taking the previous one's output)
    into `torch.nn` layer by layer and copies the weights, so it follows
    whatever architecture kgen's builders produce. Images stay `(N, H, W, C)`
    at the module's edges, as in Keras; inside, convolutions run on `(N, C, H,
    W)`. Checks that both give the same outputs (inference mode) before
    returning; raises `ValueError` for a layer it cannot translate.
    """
    import torch

    modules = []
    previous = None
    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) == 3:
        modules.append(_torch_modules()[0](0, 3, 1, 2))
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            previous = layer
            continue
        if previous is not None and layer.input is not previous.output:
            raise ValueError(
                f"{model.name} is not a chain of layers at {layer.name!r}; "
                "torch_network translates sequential functional models only"
            )
        modules += _torch_layers(layer, shape)
        shape = tuple(layer.output.shape[1:])
        previous = layer
    if len(shape) == 3:
        modules.append(_torch_modules()[0](0, 2, 3, 1))
    network = torch.nn.Sequential(*modules)

    inputs = np.random.default_rng(0).normal(size=(4, *model.inputs[0].shape[1:]))
    inputs = inputs.astype("float32")
    expected = keras.ops.convert_to_numpy(model(inputs, training=False))
    network.eval()
    with torch.no_grad():
        actual = network(torch.from_numpy(inputs)).numpy()
    network.train()
    if not np.allclose(actual, expected, atol=1e-4, rtol=1e-3):
        raise ValueError(
            f"torch_network({model.name}) differs from the Keras model by up to "
            f"{np.abs(actual - expected).max():.3g}"
        )
    return network


def _torch_layers(layer, input_shape):
    """The `torch.nn` modules of one Keras layer, weights copied."""
    import torch

    kind = type(layer).__name__
    weights = [torch.from_numpy(w.copy()) for w in layer.get_weights()]
    if kind == "Dense":
        linear = torch.nn.Linear(input_shape[-1], layer.units, bias=layer.use_bias)
        _assign(linear, weights[0].T, *weights[1:])
        return [linear, *_torch_activation(layer)]
    if kind in ("Conv2D", "Conv2DTranspose"):
        return [
            *_torch_convolution(layer, input_shape, weights),
            *_torch_activation(layer),
        ]
    if kind == "BatchNormalization":
        if not (layer.center and layer.scale) or layer.axis not in (
            -1,
            len(input_shape),
        ):
            raise ValueError(
                f"{layer.name}: only centred, scaled, last-axis batch norm"
            )
        cls = torch.nn.BatchNorm2d if len(input_shape) == 3 else torch.nn.BatchNorm1d
        norm = cls(input_shape[-1], eps=layer.epsilon, momentum=1 - layer.momentum)
        gamma, beta, mean, variance = weights
        _assign(norm, gamma, beta)
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(variance)
        return [norm]
    if kind == "LayerNormalization":
        if tuple(layer.axis) not in ((-1,), (len(input_shape),)):
            raise ValueError(f"{layer.name}: only last-axis layer norm")
        norm = torch.nn.LayerNorm(input_shape[-1], eps=layer.epsilon)
        _assign(norm, *weights)
        if len(input_shape) == 3:
            return [
                _torch_modules()[0](0, 2, 3, 1),
                norm,
                _torch_modules()[0](0, 3, 1, 2),
            ]
        return [norm]
    if kind == "LeakyReLU":
        return [torch.nn.LeakyReLU(layer.negative_slope)]
    if kind == "ReLU":
        if layer.max_value is not None or layer.negative_slope or layer.threshold:
            raise ValueError(f"{layer.name}: only the plain ReLU")
        return [torch.nn.ReLU()]
    if kind == "Activation":
        return _torch_activation(layer)
    if kind == "Dropout":
        return [torch.nn.Dropout(layer.rate)]
    if kind == "Identity":
        return []
    if kind == "Flatten":
        # Keras flattens (H, W, C) in that order.
        if len(input_shape) == 3:
            return [_torch_modules()[0](0, 2, 3, 1), torch.nn.Flatten()]
        return [torch.nn.Flatten()]
    if kind == "Reshape":
        target = tuple(layer.target_shape)
        if len(target) == 3:
            return [torch.nn.Unflatten(1, target), _torch_modules()[0](0, 3, 1, 2)]
        return [torch.nn.Unflatten(1, target)]
    raise ValueError(f"torch_network cannot translate {kind} layer {layer.name!r}")


def _torch_activation(layer):
    import torch

    name = keras.activations.serialize(layer.activation)
    name = name if isinstance(name, str) else name.get("config", name)
    activations = {
        "linear": [],
        "tanh": [torch.nn.Tanh()],
        "sigmoid": [torch.nn.Sigmoid()],
        "relu": [torch.nn.ReLU()],
    }
    if name not in activations:
        raise ValueError(f"{layer.name}: activation {name!r} is not translated")
    return activations[name]


def _torch_convolution(layer, input_shape, weights):
    """Conv2D/Conv2DTranspose with Keras' "same"/"valid" padding, on (N, C, H, W)."""
    import torch

    transpose = type(layer).__name__ == "Conv2DTranspose"
    if tuple(layer.dilation_rate) != (1, 1) or getattr(layer, "groups", 1) != 1:
        raise ValueError(f"{layer.name}: only undilated, ungrouped convolutions")
    kernel, strides = tuple(layer.kernel_size), tuple(layer.strides)
    # Keras' "same": total padding per side pair, the odd pixel after.
    pads = []
    for size, k, s in zip(input_shape[:2], kernel, strides, strict=True):
        if layer.padding == "valid":
            pads.append((0, 0))
            continue
        total = (
            max(k - s, 0) if transpose else max((-(-size // s) - 1) * s + k - size, 0)
        )
        pads.append((total // 2, total - total // 2))
    channels = input_shape[-1]
    bias = weights[1] if layer.use_bias else None
    if transpose:
        # Keras' kernel is (kh, kw, out, in); torch's (in, out, kh, kw).
        conv = torch.nn.ConvTranspose2d(
            channels,
            layer.filters,
            kernel,
            strides,
            padding=tuple(before for before, _ in pads),
            bias=layer.use_bias,
        )
        _assign(conv, weights[0].permute(3, 2, 0, 1), bias)
        # torch crops `before` pixels at both ends; Keras crops `after` at the end.
        extra = [after - before for before, after in pads]
        return [conv, _torch_modules()[1](*extra)] if any(extra) else [conv]
    conv = torch.nn.Conv2d(
        channels, layer.filters, kernel, strides, bias=layer.use_bias
    )
    # Keras' kernel is (kh, kw, in, out); torch's (out, in, kh, kw).
    _assign(conv, weights[0].permute(3, 2, 0, 1), bias)
    (top, bottom), (left, right) = pads
    if top == bottom and left == right:
        conv.padding = (top, left)
        return [conv]
    return [torch.nn.ZeroPad2d((left, right, top, bottom)), conv]


def _assign(module, weight, bias=None):
    import torch

    with torch.no_grad():
        module.weight.copy_(weight)
        if bias is not None:
            module.bias.copy_(bias)


@functools.cache
def _torch_modules():
    """`(Permute, CropEnd)`: small `torch.nn` modules, made once torch is imported."""
    import torch

    class Permute(torch.nn.Module):
        def __init__(self, *dims):
            super().__init__()
            self.dims = dims

        def forward(self, x):
            return x.permute(*self.dims)

    class CropEnd(torch.nn.Module):
        """Drops the last `h` rows and `w` columns of (N, C, H, W) maps."""

        def __init__(self, h, w):
            super().__init__()
            self.h, self.w = h, w

        def forward(self, x):
            return x[:, :, : x.shape[2] - self.h, : x.shape[3] - self.w]

    return Permute, CropEnd
