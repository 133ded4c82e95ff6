"""Training throughput of kgen's GAN and DCGAN against a hand-written TensorFlow loop.

Measures training images/second of the classic MLP `kgen.GAN` and of
`kgen.DCGAN`, batch 128 on 28x28x1 images, on each Keras backend (TensorFlow,
JAX, PyTorch), side by side with a plain TensorFlow loop (`tf.GradientTape` +
`tf.function`) that trains the same networks (built by the same
`kgen.networks` builders) with the same two `Adam(2e-4, beta_1=0.5)`
optimizers, the same non-saturating loss on logits and the same input pipeline.
Prints one table: images/s, ms/step, the ratio kgen / hand-written TF (the
target on TensorFlow is >= 1.0) and the share of step time spent waiting for
input.

Run:

    python benchmarks/gan_throughput.py            # all models and backends
    python benchmarks/gan_throughput.py --backends tensorflow --models dcgan
    python benchmarks/gan_throughput.py --steps 10 --warmup-steps 3 --repeats 1
    python benchmarks/gan_throughput.py --help     # every flag

The default run takes under 10 minutes on 2 CPU cores, much less on a GPU;
raise `--repeats` and `--steps` for tighter numbers (`--handwritten-jit-compile`
compiles the hand-written step with XLA too).

Method:

- The Keras backend is fixed when a process starts, so the script runs one
  child process per backend (`KERAS_BACKEND=<backend> ... --worker <backend>`);
  each prints its results as one JSON line and the parent prints the table.
  The hand-written loop runs in the TensorFlow child, which always runs.
  Nothing pins a device: every backend uses the GPU when it sees one, and the
  output lists the devices each backend saw.
- Data: kgen's own pipeline, `kgen.data.load("glyphs", batch_size=128,
  limit=num_images, drop_remainder=True).repeat()`: shuffled, batched,
  rescaled to [-1, 1] and prefetched by `tf.data`. The digits are generated
  in memory before anything is timed.
- Timing leaves compilation and tracing out: each run trains `warmup_steps +
  steps` steps and times the last `steps` only, from the moment step
  `warmup_steps`'s results reach the host to the moment the last step's do.
  kgen runs are timed by a callback stamping each step when Keras hands it
  the step's logs as floats (Keras reads them every step anyway: in the
  training loop on TensorFlow, in a helper thread on JAX and PyTorch, so the
  callback adds no wait); the hand-written loop reads its loss after those two
  steps only. The fastest of `repeats` runs counts; images/s = steps *
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
import json
import os
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
DEFAULT_STEPS = {"gan": 100, "dcgan": 20}
IMAGE_SHAPE = (28, 28, 1)
HANDWRITTEN = "hand-written TF"
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
        metadata={"help": "untimed steps at the start of every run (compilation)"},
    )
    repeats: int = dataclasses.field(
        default=1, metadata={"help": "runs per row; the fastest counts"}
    )
    batch_size: int = 128
    latent_dim: int = 100
    base_filters: int = dataclasses.field(
        default=64, metadata={"help": "DCGAN base_filters"}
    )
    num_images: int = dataclasses.field(
        default=10240, metadata={"help": "glyph images in the in-memory dataset"}
    )
    steps_per_execution: int = dataclasses.field(
        default=1,
        metadata={
            "help": "kgen's compile(steps_per_execution=...): training steps per "
            "call of the compiled function (steps and warm-up must be multiples)"
        },
    )
    handwritten_jit_compile: bool = dataclasses.field(
        default=False,
        metadata={"help": "compile the hand-written step with XLA"},
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
        for name in (
            "warmup_steps",
            "repeats",
            "batch_size",
            "latent_dim",
            "base_filters",
            "num_images",
            "steps_per_execution",
        ):
            _check_positive(name, getattr(self, name))
        if self.steps is not None:
            _check_positive("steps", self.steps)
        # The step clock sees the end of every execution, not of every step.
        for name in ("warmup_steps", "steps"):
            value = getattr(self, name)
            if value is not None and value % self.steps_per_execution:
                raise ValueError(
                    f"{name} ({value}) must be a multiple of steps_per_execution "
                    f"({self.steps_per_execution})"
                )
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
    """Measures kgen (and, on TensorFlow, the hand-written loop) in this process."""
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
            runners.append((HANDWRITTEN, *_handwritten_runner(model_name, config)))
        if backend in config.backend_list:
            runners.append((f"kgen {backend}", *_kgen_runner(model_name, config)))
        for implementation, run, jit_compile in runners:
            seconds_per_step, input_wait = _measure(
                run, real, synthetic, config.steps_for(model_name), config
            )
            rows.append(
                {
                    "model": model_name,
                    "implementation": implementation,
                    "jit_compile": jit_compile,
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


def _networks(model_name, config):
    if model_name == "gan":
        return (
            kgen.networks.mlp_generator(config.latent_dim, IMAGE_SHAPE),
            kgen.networks.mlp_discriminator(IMAGE_SHAPE),
        )
    return (
        kgen.networks.dcgan_generator(
            config.latent_dim, IMAGE_SHAPE, config.base_filters
        ),
        kgen.networks.dcgan_discriminator(IMAGE_SHAPE, config.base_filters),
    )


def _kgen_runner(model_name, config):
    """Returns `run(dataset, steps)` training a compiled kgen model, and its jit."""
    if model_name == "gan":
        model = kgen.GAN(*_networks(model_name, config), seed=0)
    else:
        model = kgen.DCGAN(
            image_shape=IMAGE_SHAPE,
            latent_dim=config.latent_dim,
            base_filters=config.base_filters,
            seed=0,
        )
    model.compile(steps_per_execution=config.steps_per_execution)

    def run(dataset, skip, steps):
        clock = _StepClock()
        model.fit(
            dataset,
            steps_per_epoch=skip + steps,
            epochs=1,
            verbose=0,
            callbacks=[clock],
        )
        return clock.times[skip + steps - 1] - clock.times[skip - 1]

    return run, bool(model.jit_compile)


class _StepClock(keras.callbacks.Callback):
    """Stamps the time at which each step's logs reach the host as floats."""

    # Lets Keras keep handing logs over in its helper thread (JAX, PyTorch)
    # instead of waiting for every step in the training loop.
    async_safe = True

    def __init__(self):
        super().__init__()
        self.times = {}

    def on_train_batch_end(self, batch, logs=None):
        self.times[batch] = time.perf_counter()


def _handwritten_runner(model_name, config):
    """Returns `run(dataset, steps)` for a plain TensorFlow loop, and its jit."""
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

    def run(dataset, skip, steps):
        for step, real_images in enumerate(dataset.take(skip + steps)):
            d_loss, _ = train_step(real_images)
            if step == skip - 1:
                # Reading the loss waits for every step so far.
                float(d_loss)
                start = time.perf_counter()
        float(d_loss)
        return time.perf_counter() - start

    return run, config.handwritten_jit_compile


def _measure(run, real, synthetic, steps, config):
    """Returns (seconds per step, input-wait share) of `run(dataset, skip, steps)`."""
    real_seconds, synthetic_seconds = [], []
    for _ in range(config.repeats):
        real_seconds.append(run(real, config.warmup_steps, steps))
        synthetic_seconds.append(run(synthetic, config.warmup_steps, steps))
    real_time, synthetic_time = min(real_seconds), min(synthetic_seconds)
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
    steps = ", ".join(f"{m} {config.steps_for(m)}" for m in config.model_list)
    print()
    print(
        f"GAN training throughput: batch {config.batch_size}, "
        f"{height}x{width}x{channels} images, kgen.data glyphs pipeline "
        f"({config.num_images} images in memory, repeated)"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    for result in results:
        print(
            f"{result['backend']}: {result['devices']}; input pipeline alone "
            f"{result['pipeline_images_per_second']:,.0f} images/s"
        )
    print(
        f"timed steps per run: {steps}, after {config.warmup_steps} untimed "
        f"steps; fastest of {config.repeats} run(s)"
    )
    print()

    rows = [row for result in results for row in result["rows"]]
    reference = {
        row["model"]: row["seconds_per_step"]
        for row in rows
        if row["implementation"] == HANDWRITTEN
    }
    header = (
        "model",
        "implementation",
        "jit",
        "images/s",
        "ms/step",
        "vs hand-written TF",
        "input wait",
    )
    lines = []
    for model_name in config.model_list:
        for row in rows:
            if row["model"] != model_name:
                continue
            seconds = row["seconds_per_step"]
            ratio = (
                f"{reference[model_name] / seconds:.2f}"
                if model_name in reference
                else "n/a"
            )
            lines.append(
                (
                    model_name,
                    row["implementation"],
                    "yes" if row["jit_compile"] else "no",
                    f"{config.batch_size / seconds:,.0f}",
                    f"{1000 * seconds:.2f}",
                    ratio,
                    f"{100 * row['input_wait']:.1f}%",
                )
            )
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(7)]
    for line in [header, *lines]:
        cells = [
            cell.ljust(w) if i < 3 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells))
    print()

    if "tensorflow" in config.backend_list:
        ratios = [
            f"{row['model']} {reference[row['model']] / row['seconds_per_step']:.2f}"
            for row in rows
            if row["implementation"] == "kgen tensorflow" and row["model"] in reference
        ]
        if ratios:
            print(
                "kgen / hand-written TF on TensorFlow (target >= 1.00): "
                + ", ".join(ratios)
            )
    print(
        "images/s and ms/step: steady state; each run's first "
        f"{config.warmup_steps} steps (compilation) are not timed."
    )
    print(
        "vs hand-written TF: images/s divided by the hand-written TensorFlow "
        "loop's (same networks, batch, optimizers, loss and data)."
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
