"""Training throughput of kgen's GAN and DCGAN against hand-written loops.

Measures training images/second of the classic MLP `kgen.GAN` and of
`kgen.DCGAN`, batch 128 on 28x28x1 images, on each Keras backend (TensorFlow,
JAX, PyTorch) at kgen's default `compile()` settings, side by side with two
hand-written loops that train the same networks with two Adam(2e-4,
beta_1=0.5) optimizers, the non-saturating loss on logits and the same input
pipeline:

- hand-written TF: `tf.GradientTape` + `tf.function` on the networks the
  `kgen.networks` builders (MLP GAN) and `kgen.DCGAN()` (DCGAN) build;
- plain PyTorch: the same networks translated layer by layer into `torch.nn`
  (at run time, from the built Keras models, so they follow kgen's defaults;
  weights copied, outputs checked against Keras'), trained by an eager
  `torch.optim.Adam(2e-4, betas=(0.5, 0.999))` loop with `BCEWithLogitsLoss`.

Prints one table: images/s, ms/step, kgen's ratio to the hand-written TF loop
(target >= 1.2 on TensorFlow and JAX) and to the plain PyTorch loop (target
>= 1.0 for kgen on PyTorch), and the share of step time spent waiting for
input.

Run:

    python benchmarks/gan_throughput.py            # all models and backends
    python benchmarks/gan_throughput.py --backends tensorflow --models dcgan
    python benchmarks/gan_throughput.py --steps 10 --warmup-steps 3 --repeats 1
    python benchmarks/gan_throughput.py --help     # every flag

The default run takes about 10 minutes on 2 CPU cores, much less on a GPU;
raise `--repeats` and `--steps` for tighter numbers (`--steps-per-execution`
and `--jit-compile` override kgen's defaults, `--handwritten-jit-compile`
compiles the hand-written TF step with XLA too).

Method:

- The Keras backend is fixed when a process starts, so the script runs one
  child process per backend (`KERAS_BACKEND=<backend> ... --worker <backend>`);
  each prints its results as one JSON line and the parent prints the table.
  The hand-written TF loop runs in the TensorFlow child, which always runs;
  the plain PyTorch loop runs in the PyTorch child. Nothing pins a device:
  every backend uses the GPU when it sees one, and the output lists the
  devices each backend saw.
- Data: kgen's own pipeline, `kgen.data.load("glyphs", batch_size=128,
  limit=num_images, drop_remainder=True).repeat()`: shuffled, batched,
  rescaled to [-1, 1] and prefetched by `tf.data`. The digits are generated
  in memory before anything is timed. The plain PyTorch loop reads the same
  pipeline as NumPy batches (`as_numpy_iterator()`, then
  `torch.from_numpy`), which is also how Keras hands `tf.data` batches to
  JAX and PyTorch.
- Timing: every implementation is timed by whole training runs that end by
  reading a result on the host (`fit(steps_per_epoch=n)` then reading the
  optimizer's step counter; the loops read their last loss), so a run's time
  includes every step's work, on any backend, with no callback in the loop.
  After an untimed run that compiles/traces, each repeat times a run of
  `warmup_steps` steps and a run of `warmup_steps + steps` steps; their
  difference is the time of `steps` steady-state steps, free of what every run
  pays once (starting the iterator, filling the shuffle buffer, Keras'
  per-`fit` setup). Step times stamped by a callback are not used: Keras calls
  async-safe callbacks from a helper thread on JAX and PyTorch, whose stamps
  can be several steps late, and making the callback synchronous adds a host
  wait to every step that default training does not have. With
  `steps_per_execution` > 1 the step counts are rounded up to multiples of it.
  The fastest of `repeats` differences counts; images/s = steps *
  batch_size / time.
- Input wait: the same measurement on a dataset that repeats one batch held in
  memory (`tf.data.Dataset.from_tensors(batch).repeat()`), which does no work
  per step. Input wait = max(0, 1 - time_synthetic / time_real): the share of
  a real step spent on input work that prefetching did not hide. Both datasets
  pay the hand-over of each batch to the backend (tf.data tensor, then NumPy
  for JAX and PyTorch, then the device), so this is the pipeline's own cost.
  The pipeline's throughput alone (iterating it without training) is printed
  too.
"""

import dataclasses
import functools
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata

import keras

import kgen

MODELS = ("gan", "dcgan")
BACKENDS = ("tensorflow", "jax", "torch")
# An MLP GAN step is far cheaper than a DCGAN step, so it gets more steps for
# a comparable measurement time.
DEFAULT_STEPS = {"gan": 200, "dcgan": 20}
IMAGE_SHAPE = (28, 28, 1)
HANDWRITTEN = "hand-written TF"
PLAIN_TORCH = "plain PyTorch"
# The ratio each kgen row is judged by: (reference implementation, target).
TARGETS = {
    "kgen tensorflow": (HANDWRITTEN, 1.2),
    "kgen jax": (HANDWRITTEN, 1.2),
    "kgen torch": (PLAIN_TORCH, 1.0),
}
# Marks the child's result line among whatever else it prints.
_RESULT_PREFIX = "GAN_THROUGHPUT_RESULT "
_PIPELINE_WARMUP_BATCHES = 10
_PIPELINE_BATCHES = 200


@dataclasses.dataclass
class Config:
    models: str = dataclasses.field(
        default="gan,dcgan",
        metadata={"help": "comma-separated: gan (classic MLP GAN), dcgan"},
    )
    backends: str = dataclasses.field(
        default="tensorflow,jax,torch",
        metadata={"help": "comma-separated Keras backends to measure kgen on"},
    )
    steps: int | None = dataclasses.field(
        default=None,
        metadata={
            "help": "timed steps per run, for every model; unset: "
            + ", ".join(f"{m} {s}" for m, s in DEFAULT_STEPS.items())
        },
    )
    warmup_steps: int = dataclasses.field(
        default=3,
        metadata={
            "help": "steps of the short run whose time is subtracted from the "
            "long run's (see Method)"
        },
    )
    repeats: int = dataclasses.field(
        default=1, metadata={"help": "runs per row; the fastest counts"}
    )
    batch_size: int = 128
    latent_dim: int = 100
    base_filters: int | None = dataclasses.field(
        default=None, metadata={"help": "DCGAN base_filters; unset: kgen.DCGAN's"}
    )
    num_images: int = dataclasses.field(
        default=10240, metadata={"help": "glyph images in the in-memory dataset"}
    )
    steps_per_execution: int | None = dataclasses.field(
        default=None,
        metadata={
            "help": "kgen's compile(steps_per_execution=...); unset: kgen's "
            "default for the backend"
        },
    )
    jit_compile: str | None = dataclasses.field(
        default=None,
        metadata={
            "help": "kgen's compile(jit_compile=...): true, false or auto; "
            "unset: kgen's default for the backend and model"
        },
    )
    handwritten_jit_compile: bool = dataclasses.field(
        default=False,
        metadata={"help": "compile the hand-written TF step with XLA"},
    )
    worker: str | None = dataclasses.field(
        default=None,
        metadata={
            "help": "internal: measure this backend in this process and print "
            "one JSON line (KERAS_BACKEND must match)"
        },
    )

    def __post_init__(self):
        _check_names("models", self.model_list, MODELS)
        _check_names("backends", self.backend_list, BACKENDS)
        if self.worker is not None and self.worker not in BACKENDS:
            raise ValueError(
                f"worker must be one of {', '.join(BACKENDS)}, got {self.worker!r}"
            )
        if self.jit_compile is not None and self.jit_compile not in (
            "true",
            "false",
            "auto",
        ):
            raise ValueError(
                f"jit_compile must be true, false or auto, got {self.jit_compile!r}"
            )
        for name in (
            "warmup_steps",
            "repeats",
            "batch_size",
            "latent_dim",
            "num_images",
        ):
            _check_positive(name, getattr(self, name))
        for name in ("steps", "base_filters", "steps_per_execution"):
            if getattr(self, name) is not None:
                _check_positive(name, getattr(self, name))
        if self.num_images < self.batch_size:
            raise ValueError(
                f"num_images ({self.num_images}) must be at least batch_size "
                f"({self.batch_size}) to make one full batch"
            )

    @property
    def model_list(self) -> list[str]:
        return _split(self.models)

    @property
    def backend_list(self) -> list[str]:
        return _split(self.backends)

    def steps_for(self, model_name: str) -> int:
        return self.steps if self.steps is not None else DEFAULT_STEPS[model_name]

    def compile_overrides(self) -> dict:
        """The `compile()` arguments given on the command line."""
        overrides = {}
        if self.steps_per_execution is not None:
            overrides["steps_per_execution"] = self.steps_per_execution
        if self.jit_compile is not None:
            overrides["jit_compile"] = {"true": True, "false": False}.get(
                self.jit_compile, self.jit_compile
            )
        return overrides


def main(config: Config):
    """Measures every backend in a child process and prints the table.

    With `config.worker` set, measures that backend in this process instead
    and prints its results as one JSON line.

    Returns:
        The list of per-backend results (the one result for a worker).
    """
    if config.worker is not None:
        result = measure_backend(config)
        print(_RESULT_PREFIX + json.dumps(result), flush=True)
        return result
    # The hand-written reference runs in the TensorFlow child, so that child
    # runs even when kgen is not measured on TensorFlow.
    backends = config.backend_list
    if "tensorflow" not in backends:
        backends = ["tensorflow", *backends]
    results, failures = [], []
    for backend in backends:
        print(f"Measuring {backend}...", flush=True)
        try:
            results.append(_run_worker(config, backend))
        except RuntimeError as error:
            print(error, file=sys.stderr, flush=True)
            failures.append(backend)
    print_report(config, results)
    if failures:
        raise RuntimeError(f"Measurements failed for: {', '.join(failures)}")
    return results


def measure_backend(config: Config) -> dict:
    """Measures kgen and this backend's hand-written loop in this process."""
    backend = keras.backend.backend()
    if backend != config.worker:
        raise ValueError(
            f"--worker {config.worker} needs KERAS_BACKEND={config.worker}, "
            f"but this process runs the {backend} backend"
        )
    real = kgen.data.load(
        "glyphs",
        batch_size=config.batch_size,
        limit=config.num_images,
        seed=0,
        drop_remainder=True,
    ).repeat()
    # Imported after kgen.data, which keeps TensorFlow off the GPU under JAX
    # and PyTorch.
    import tensorflow as tf

    pipeline_images_per_second = _pipeline_throughput(real, config.batch_size)
    synthetic = tf.data.Dataset.from_tensors(next(iter(real))).repeat()
    rows = []
    for model_name in config.model_list:
        runners = []
        if backend == "tensorflow":
            runners.append((HANDWRITTEN, _handwritten_runner(model_name, config)))
        if backend == "torch" and "torch" in config.backend_list:
            runners.append((PLAIN_TORCH, _plain_torch_runner(model_name, config)))
        if backend in config.backend_list:
            runners.append((f"kgen {backend}", _kgen_runner(model_name, config)))
        for implementation, (run, settings) in runners:
            multiple = settings["steps_per_execution"]
            skip = _round_up(config.warmup_steps, multiple)
            steps = _round_up(config.steps_for(model_name), multiple)
            seconds_per_step, input_wait = _measure(
                run, real, synthetic, skip, steps, config.repeats
            )
            rows.append(
                {
                    "model": model_name,
                    "implementation": implementation,
                    **settings,
                    "steps": steps,
                    "seconds_per_step": seconds_per_step,
                    "input_wait": input_wait,
                }
            )
    return {
        "backend": backend,
        "devices": _devices(backend),
        "versions": _versions(backend),
        "pipeline_images_per_second": pipeline_images_per_second,
        "rows": rows,
    }


def _round_up(value, multiple):
    return -(-value // multiple) * multiple


def _kgen_model(model_name, config):
    """A kgen model at its defaults (plus the size flags), before compile()."""
    if model_name == "gan":
        return kgen.GAN(
            kgen.networks.mlp_generator(config.latent_dim, IMAGE_SHAPE),
            kgen.networks.mlp_discriminator(IMAGE_SHAPE),
            seed=0,
        )
    sizes = {} if config.base_filters is None else {"base_filters": config.base_filters}
    return kgen.DCGAN(
        image_shape=IMAGE_SHAPE, latent_dim=config.latent_dim, seed=0, **sizes
    )


def _networks(model_name, config):
    """Fresh `(generator, discriminator)` as kgen's model of that name builds them.

    Taken from a new kgen model, so the hand-written loops train whatever
    networks kgen's defaults are at the time of the run.
    """
    model = _kgen_model(model_name, config)
    return model.generator, model.discriminator


def _kgen_runner(model_name, config):
    """Returns `(run, settings)`: `run(dataset, steps) -> seconds` trains kgen."""
    model = _kgen_model(model_name, config)
    model.compile(**config.compile_overrides())

    def run(dataset, steps):
        start = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
        # Waits for the last step (JAX dispatches steps asynchronously).
        keras.ops.convert_to_numpy(model.optimizer.iterations)
        return time.perf_counter() - start

    settings = {
        "jit_compile": bool(model.jit_compile),
        "steps_per_execution": model.steps_per_execution,
    }
    return run, settings


def _handwritten_runner(model_name, config):
    """Returns `(run, settings)` for a plain TensorFlow loop."""
    import tensorflow as tf

    generator, discriminator = _networks(model_name, config)
    d_optimizer = keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)
    g_optimizer = keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)
    # Built outside tf.function, which may not create variables after its
    # first trace.
    d_optimizer.build(discriminator.trainable_variables)
    g_optimizer.build(generator.trainable_variables)
    latent_dim = config.latent_dim

    @tf.function(jit_compile=config.handwritten_jit_compile)
    def train_step(real_images):
        batch_size = tf.shape(real_images)[0]
        fake_images = generator(
            tf.random.normal((batch_size, latent_dim)), training=True
        )
        with tf.GradientTape() as tape:
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            # Non-saturating loss on logits, as kgen.losses.NonSaturatingLoss.
            d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(
                tf.nn.softplus(fake_logits)
            )
        d_variables = discriminator.trainable_variables
        d_grads = tape.gradient(d_loss, d_variables)
        d_optimizer.apply_gradients(zip(d_grads, d_variables, strict=True))

        z = tf.random.normal((batch_size, latent_dim))
        with tf.GradientTape() as tape:
            fake_logits = discriminator(generator(z, training=True), training=True)
            g_loss = tf.reduce_mean(tf.nn.softplus(-fake_logits))
        g_variables = generator.trainable_variables
        g_grads = tape.gradient(g_loss, g_variables)
        g_optimizer.apply_gradients(zip(g_grads, g_variables, strict=True))
        return d_loss, g_loss

    def run(dataset, steps):
        start = time.perf_counter()
        for real_images in dataset.take(steps):
            d_loss, _ = train_step(real_images)
        # Reading the loss waits for every step.
        float(d_loss)
        return time.perf_counter() - start

    settings = {
        "jit_compile": config.handwritten_jit_compile,
        "steps_per_execution": 1,
    }
    return run, settings


def _plain_torch_runner(model_name, config):
    """Returns `(run, settings)` for an eager PyTorch loop on the same networks."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    generator, discriminator = (
        torch_network(network).to(device) for network in _networks(model_name, config)
    )
    d_optimizer = torch.optim.Adam(
        discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999)
    )
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = torch.nn.BCEWithLogitsLoss()
    latent_dim = config.latent_dim

    def train_step(real_images):
        batch_size = real_images.shape[0]
        with torch.no_grad():
            fake_images = generator(torch.randn(batch_size, latent_dim, device=device))
        real_logits = discriminator(real_images)
        fake_logits = discriminator(fake_images)
        d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(
            fake_logits, torch.zeros_like(fake_logits)
        )
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()

        # D's weights get no gradients from the generator's update.
        discriminator.requires_grad_(False)
        fake_logits = discriminator(
            generator(torch.randn(batch_size, latent_dim, device=device))
        )
        g_loss = bce(fake_logits, torch.ones_like(fake_logits))
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()
        discriminator.requires_grad_(True)
        return d_loss.detach(), g_loss.detach()

    def run(dataset, steps):
        start = time.perf_counter()
        for batch in dataset.take(steps).as_numpy_iterator():
            d_loss, _ = train_step(torch.from_numpy(batch).to(device))
        # Reading the loss waits for every step.
        float(d_loss)
        return time.perf_counter() - start

    return run, {"jit_compile": False, "steps_per_execution": 1}


def torch_network(model: keras.Model):
    """A `torch.nn.Module` computing what the Keras functional `model` computes.

    Translates a chain of Keras layers (each taking the previous one's output)
    into `torch.nn` layer by layer and copies the weights, so it follows
    whatever architecture kgen's builders produce. Images stay `(N, H, W, C)`
    at the module's edges, as in Keras; inside, convolutions run on `(N, C, H,
    W)`. Checks that both give the same outputs (inference mode) before
    returning; raises `ValueError` for a layer it cannot translate.
    """
    import numpy as np
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


def _measure(run, real, synthetic, skip, steps, repeats):
    """Returns (seconds per step, input-wait share) of `run(dataset, steps)`.

    Each measurement is `run(skip + steps) - run(skip)`: what `steps` more steps
    cost, without what every run pays once.
    """
    times = {"real": [], "synthetic": []}
    for dataset in (real, synthetic):
        run(dataset, skip)  # Compiles/traces; untimed.
    for _ in range(repeats):
        for name, dataset in (("real", real), ("synthetic", synthetic)):
            short = run(dataset, skip)
            times[name].append(run(dataset, skip + steps) - short)
    real_time, synthetic_time = min(times["real"]), min(times["synthetic"])
    return real_time / steps, max(0.0, 1.0 - synthetic_time / real_time)


def _pipeline_throughput(dataset, batch_size):
    """Images/s of iterating `dataset` alone; the first batches fill its buffers."""
    iterator = iter(dataset)
    for _ in range(_PIPELINE_WARMUP_BATCHES):
        next(iterator)
    start = time.perf_counter()
    for _ in range(_PIPELINE_BATCHES):
        next(iterator)
    return _PIPELINE_BATCHES * batch_size / (time.perf_counter() - start)


def _devices(backend):
    """The accelerators the backend sees, in words."""
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        names = [
            tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in gpus
        ]
        return f"GPU: {', '.join(names)}" if gpus else "CPU only (no GPU visible)"
    if backend == "jax":
        import jax

        return f"{jax.default_backend()}: {', '.join(str(d) for d in jax.devices())}"
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return "CPU only (torch.cuda.is_available() is False)"


def _versions(backend):
    distribution = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
    versions = {"keras": keras.__version__, "kgen": kgen.__version__}
    # TensorFlow runs the input pipeline on every backend.
    for name in ("tensorflow", distribution[backend]):
        versions[name] = metadata.version(name)
    return versions


def _run_worker(config, backend):
    """Runs the measurements of `backend` in a child process; returns its result."""
    worker_config = dataclasses.replace(config, worker=backend)
    command = [sys.executable, os.path.abspath(__file__), *_flags(worker_config)]
    completed = subprocess.run(
        command,
        env=dict(os.environ, KERAS_BACKEND=backend),
        capture_output=True,
        text=True,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(_RESULT_PREFIX):
            return json.loads(line[len(_RESULT_PREFIX) :])
    output = (completed.stdout + completed.stderr).strip().splitlines()
    raise RuntimeError(
        f"The {backend} worker failed (exit code {completed.returncode}); "
        "its last output lines:\n" + "\n".join(output[-20:])
    )


def _flags(config):
    """The command-line flags that `kgen.config.parse_config` reads back as `config`."""
    flags = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        name = field.name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(f"--{name}" if value else f"--no-{name}")
        elif value is not None:
            flags += [f"--{name}", str(value)]
    return flags


def print_report(config: Config, results: list[dict]):
    """Prints the setup, the throughput table and how it was measured."""
    height, width, channels = IMAGE_SHAPE
    versions = {}
    for result in results:
        versions.update(result["versions"])
    print()
    print(
        f"GAN training throughput: batch {config.batch_size}, "
        f"{height}x{width}x{channels} images, kgen.data glyphs pipeline "
        f"({config.num_images} images in memory, repeated); "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()})"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    for result in results:
        print(
            f"{result['backend']}: {result['devices']}; input pipeline alone "
            f"{result['pipeline_images_per_second']:,.0f} images/s"
        )
    print(
        f"timed: run of warm-up + n steps minus run of {config.warmup_steps} "
        f"warm-up steps; fastest of {config.repeats} repeat(s)"
    )
    print()

    rows = [row for result in results for row in result["rows"]]
    seconds = {
        (row["model"], row["implementation"]): row["seconds_per_step"] for row in rows
    }
    header = (
        "model",
        "implementation",
        "jit",
        "steps/exec",
        "n",
        "images/s",
        "ms/step",
        "vs hand-written TF",
        "vs plain PyTorch",
        "input wait",
    )
    lines, verdicts = [], []
    for model_name in config.model_list:
        for row in rows:
            if row["model"] != model_name:
                continue
            step = row["seconds_per_step"]
            ratios = []
            for reference in (HANDWRITTEN, PLAIN_TORCH):
                key = (model_name, reference)
                ratios.append(f"{seconds[key] / step:.2f}" if key in seconds else "n/a")
            lines.append(
                (
                    model_name,
                    row["implementation"],
                    "yes" if row["jit_compile"] else "no",
                    str(row["steps_per_execution"]),
                    str(row["steps"]),
                    f"{config.batch_size / step:,.0f}",
                    f"{1000 * step:.2f}",
                    *ratios,
                    f"{100 * row['input_wait']:.1f}%",
                )
            )
            if row["implementation"] in TARGETS:
                reference, target = TARGETS[row["implementation"]]
                key = (model_name, reference)
                if key in seconds:
                    ratio = seconds[key] / step
                    verdicts.append(
                        f"{model_name} {row['implementation']} / {reference}: "
                        f"{ratio:.2f} (target >= {target:.1f}, "
                        f"{'met' if ratio >= target else 'MISSED'})"
                    )
    widths = [
        max(len(line[i]) for line in [header, *lines]) for i in range(len(header))
    ]
    for line in [header, *lines]:
        cells = [
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells))
    print()
    for verdict in verdicts:
        print(verdict)
    print(
        "images/s and ms/step: steady state (compilation, tracing and per-run "
        "start-up are not timed); n: timed steps."
    )
    print(
        "vs hand-written TF / plain PyTorch: images/s divided by that loop's "
        "(same networks, batch, optimizers, loss and data)."
    )
    print(
        "input wait: 1 - time on one batch repeated from memory / time on the "
        "real pipeline, i.e. the share of step time spent waiting for input."
    )


def _split(text):
    names = []
    for name in text.split(","):
        name = name.strip().lower()
        if name and name not in names:
            names.append(name)
    return names


def _check_names(kind, names, known):
    if not names:
        raise ValueError(f"{kind} is empty; choose from {', '.join(known)}")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"Unknown {kind}: {', '.join(unknown)}; choose from {', '.join(known)}"
        )


def _check_positive(name, value):
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
