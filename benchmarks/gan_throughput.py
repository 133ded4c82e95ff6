"""Training throughput of kgen's GAN and DCGAN against hand-written loops.

Measures training images/second of the classic MLP `kgen.GAN` and of
`kgen.DCGAN`, batch 128 on 28x28x1 images, on each Keras backend (TensorFlow,
JAX, PyTorch) at kgen's default `compile()` settings, side by side with two
hand-written loops that train the same networks with two Adam(2e-4,
beta_1=0.5) optimizers, the non-saturating loss on logits, kgen's default R1
and R2 penalties where the model has them (the DCGAN: `r1_weight=1.0` and
`r2_weight=1.0`, a second forward and a double backward pass through D on
every 4th real and every 4th generated image, `r1_subsample=4`) and the same
input pipeline:

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

The default run took 6.5 minutes on 2 CPU cores, much less on a GPU;
raise `--repeats` and `--steps` for tighter numbers (`--steps-per-execution`
and `--jit-compile` override kgen's defaults, `--handwritten-jit-compile`
compiles the hand-written TF step with XLA too).

Method:

- The Keras backend is fixed when a process starts, so the script runs one
  child process per backend (`KERAS_BACKEND=<backend> ... --worker <backend>`,
  by `harness.run_child`); each reports its results and the parent prints the
  table.
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
- Timing: `harness.time_steps`, as in every speed benchmark here. Each
  implementation is timed by whole training runs that end by reading a result
  on the host (`fit(steps_per_epoch=n)` then reading the optimizer's step
  counter; the loops read their last loss), so a run's time includes every
  step's work, on any backend, with no callback in the loop. After an untimed
  run that compiles/traces, each repeat times a run of `warmup_steps` steps
  and a run of `warmup_steps + steps` steps; their difference is the time of
  `steps` steady-state steps, free of what every run pays once (starting the
  iterator, filling the shuffle buffer, Keras' per-`fit` setup). With
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
import os
import platform
import sys
import time

import harness
import keras
from torch_networks import torch_network

import kgen
from kgen.config import setting

MODELS = ("gan", "dcgan")
# An MLP GAN step is far cheaper than a DCGAN step, so it gets more steps for
# a comparable measurement time.
DEFAULT_STEPS = {"gan": 200, "dcgan": 40}
IMAGE_SHAPE = (28, 28, 1)
HANDWRITTEN = "hand-written TF"
PLAIN_TORCH = "plain PyTorch"
# The ratio each kgen row is judged by: (reference implementation, target).
TARGETS = {
    "kgen tensorflow": (HANDWRITTEN, 1.2),
    "kgen jax": (HANDWRITTEN, 1.2),
    "kgen torch": (PLAIN_TORCH, 1.0),
}
_PIPELINE_WARMUP_BATCHES = 10
_PIPELINE_BATCHES = 200


@dataclasses.dataclass
class Config:
    models: str = setting("gan,dcgan", "comma-separated: gan (classic MLP GAN), dcgan")
    backends: str = setting(
        "tensorflow,jax,torch", "comma-separated Keras backends to measure kgen on"
    )
    steps: int | None = setting(
        None,
        "timed steps per run, for every model; unset: "
        + ", ".join(f"{m} {s}" for m, s in DEFAULT_STEPS.items()),
    )
    warmup_steps: int = setting(
        3, "steps of the short run whose time is subtracted from the long run's"
    )
    repeats: int = setting(
        3,
        "runs per row; the fastest counts (one run of 20 DCGAN steps scattered "
        "by +-25% on a 2-core VM)",
    )
    batch_size: int = 128
    latent_dim: int = setting(100, "the generators' noise size")
    base_filters: int | None = setting(None, "DCGAN base_filters; unset: kgen.DCGAN's")
    num_images: int = setting(10240, "glyph images in the in-memory dataset")
    steps_per_execution: int | None = setting(
        None,
        "kgen's compile(steps_per_execution=...); unset: kgen's default for the "
        "backend",
    )
    jit_compile: str | None = setting(
        None,
        "kgen's compile(jit_compile=...); unset: kgen's default for the backend "
        "and model",
        choices=("true", "false", "auto"),
    )
    handwritten_jit_compile: bool = setting(
        False, "compile the hand-written TF step with XLA"
    )
    worker: str | None = setting(
        None,
        "internal: measure this backend in this process and report its results "
        "(KERAS_BACKEND must match)",
        choices=harness.BACKENDS,
    )

    def __post_init__(self):
        harness.check_names("models", self.model_list, MODELS)
        harness.check_names("backends", self.backend_list, harness.BACKENDS)
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
    and reports its results to the parent.

    Returns:
        The list of per-backend results (the one result for a worker).
    """
    if config.worker is not None:
        result = measure_backend(config)
        harness.report(result)
        return result
    # The hand-written reference runs in the TensorFlow child, so that child
    # runs even when kgen is not measured on TensorFlow.
    backends = config.backend_list
    if "tensorflow" not in backends:
        backends = ["tensorflow", *backends]
    results, failures = [], []
    for backend in backends:
        print(f"Measuring {backend}...", flush=True)
        flags = _flags(dataclasses.replace(config, worker=backend))
        try:
            results.append(harness.run_child(__file__, flags, backend))
        except RuntimeError as error:
            print(f"The {backend} worker failed: {error}", file=sys.stderr, flush=True)
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
            warmup = _round_up(config.warmup_steps, multiple)
            steps = _round_up(config.steps_for(model_name), multiple)
            real_time, synthetic_time = (
                min(
                    harness.time_steps(
                        functools.partial(run, dataset), warmup, steps, config.repeats
                    )
                )
                for dataset in (real, synthetic)
            )
            rows.append(
                {
                    "model": model_name,
                    "implementation": implementation,
                    **settings,
                    "steps": steps,
                    "seconds_per_step": real_time,
                    "input_wait": max(0.0, 1.0 - synthetic_time / real_time),
                }
            )
    gpus = harness.gpus(backend)
    return {
        "backend": backend,
        "devices": f"GPU: {', '.join(gpus)}" if gpus else "CPU only (no GPU visible)",
        # TensorFlow runs the input pipeline on every backend.
        "versions": {
            name: harness.version(name)
            for name in ("keras", "kgen", "tensorflow", backend)
        },
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
    """Fresh `(generator, discriminator, penalties)` as kgen's model of that
    name builds and compiles them by default; `penalties` is
    `(r1_weight, r2_weight, r1_subsample)` (R1 on every `r1_subsample`-th
    real image, R2 on every `r1_subsample`-th fake).

    Taken from a new kgen model, so the hand-written loops train whatever
    networks and penalties kgen's defaults are at the time of the run.
    """
    model = _kgen_model(model_name, config)
    model.compile()
    penalties = (model.r1_weight, model.r2_weight, model.r1_subsample)
    return model.generator, model.discriminator, penalties


def _kgen_runner(model_name, config):
    """`(run, settings)`: `run(dataset, steps)` trains kgen `steps` steps on
    `dataset` and returns when the last is done; `settings` are the compile
    settings in effect."""
    model = _kgen_model(model_name, config)
    model.compile(**config.compile_overrides())

    def run(dataset, steps):
        harness.fit_run(model, dataset)(steps)

    settings = {
        "jit_compile": bool(model.jit_compile),
        "steps_per_execution": model.steps_per_execution,
    }
    return run, settings


def _handwritten_runner(model_name, config):
    """`(run, settings)` for a plain TensorFlow loop (see `_kgen_runner`)."""
    import tensorflow as tf

    generator, discriminator, penalties = _networks(model_name, config)
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
            # R1 on the real images, R2 on the fakes, as kgen.losses.r1_penalty.
            r1_weight, r2_weight, subsample = penalties
            for weight, images in ((r1_weight, real_images), (r2_weight, fake_images)):
                if not weight:
                    continue
                images = images[::subsample]
                with tf.GradientTape() as inner:
                    inner.watch(images)
                    total = tf.reduce_sum(discriminator(images, training=True))
                grads = inner.gradient(total, images)
                d_loss += (
                    0.5
                    * weight
                    * tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
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
        for real_images in dataset.take(steps):
            d_loss, _ = train_step(real_images)
        # Reading the loss waits for every step.
        float(d_loss)

    settings = {
        "jit_compile": config.handwritten_jit_compile,
        "steps_per_execution": 1,
    }
    return run, settings


def _plain_torch_runner(model_name, config):
    """`(run, settings)` for an eager PyTorch loop on the same networks."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    *networks, penalties = _networks(model_name, config)
    generator, discriminator = (torch_network(net).to(device) for net in networks)
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
        # R1 on the real images, R2 on the fakes, as kgen.losses.r1_penalty.
        r1_weight, r2_weight, subsample = penalties
        for weight, images in ((r1_weight, real_images), (r2_weight, fake_images)):
            if not weight:
                continue
            images = images[::subsample].detach().requires_grad_(True)
            (grads,) = torch.autograd.grad(
                discriminator(images).sum(), images, create_graph=True
            )
            d_loss = d_loss + 0.5 * weight * grads.square().sum((1, 2, 3)).mean()
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
        for batch in dataset.take(steps).as_numpy_iterator():
            d_loss, _ = train_step(torch.from_numpy(batch).to(device))
        # Reading the loss waits for every step.
        float(d_loss)

    return run, {"jit_compile": False, "steps_per_execution": 1}


def _pipeline_throughput(dataset, batch_size):
    """Images/s of iterating `dataset` alone; the first batches fill its buffers."""
    iterator = iter(dataset)
    for _ in range(_PIPELINE_WARMUP_BATCHES):
        next(iterator)
    start = time.perf_counter()
    for _ in range(_PIPELINE_BATCHES):
        next(iterator)
    return _PIPELINE_BATCHES * batch_size / (time.perf_counter() - start)


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
    harness.print_table(header, lines, left=2)
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


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
