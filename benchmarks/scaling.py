"""Training images/s on 1 vs 2 devices per backend, with mixed precision and XLA.

    python benchmarks/scaling.py                        # every backend, model and setting
    python benchmarks/scaling.py --models dcgan --steps 20 --repeats 3
    python benchmarks/scaling.py --backends jax --policies float32 --xla on
    python benchmarks/scaling.py --quick                # smoke check: tiny runs
    python benchmarks/scaling.py --help                 # every flag

Trains `kgen.DCGAN`, the classic MLP `kgen.GAN` and the 784-200-200-50
`kgen.VAE` with `model.fit` and prints one table: backend | model | devices |
dtype policy | XLA | images/s | spread | speed-up, where speed-up is images/s
over that of the same backend and model on 1 device in float32 with Keras'
default XLA setting (on for JAX; for TensorFlow on when a GPU is visible, off
on a CPU; never on PyTorch).

What varies:

- devices: data-parallel training on the TensorFlow backend
  (`tf.distribute.MirroredStrategy(devices)`, model built and compiled in its
  scope, a `tf.data` pipeline batched with the global batch) and on JAX
  (`keras.distribution.DataParallel(devices=...)`, NumPy arrays with the global
  `batch_size`); 1 device is plain single-device training. On a GPU machine
  the devices are the visible GPUs (default: 1 and all of them); on a CPU-only
  machine the CPU is split into logical devices before the backend starts
  (TensorFlow logical devices, `XLA_FLAGS=--xla_force_host_platform_device_count`
  for JAX; default: 1 and 2). Those share the same cores, so on a CPU the
  2-device rows measure the cost of data parallelism, not a speed-up. kgen
  does not distribute PyTorch training: PyTorch gets 1-device rows only.
  TensorFlow with XLA on logical CPU devices is skipped (XLA cannot reach a
  second logical device's variables, for any Keras model); JAX without XLA
  on logical CPU devices may abort when one op's all-reduce waits over 40 s
  for the other device (XLA's CPU rendezvous timeout), as on busy cores.
- dtype policy: `keras.mixed_precision.set_dtype_policy(...)` before the model
  is built; `mixed_float16` needs a GPU and is part of the default run only
  when one is present.
- XLA: `model.compile(jit_compile=True/False)`. On PyTorch `jit_compile=True`
  means `torch.compile`, not XLA, so PyTorch has XLA-off rows only.

Method: every configuration runs in its own child process
(`--worker <json>`, by `harness.run_child`), since devices and dtype policies
must be set before the backend starts; nothing is shared between rows. The
data are random float32 images in [-1, 1] (28x28x1), made before anything is
timed; throughput does not depend on the pixels. Steps are timed by
`harness.time_steps`, as in every speed benchmark here: after an untimed
`fit` of `--warmup-steps` steps (tracing, compilation), each of `--repeats`
repeats times a `fit` of `warmup + steps` steps and one of `warmup` steps,
each ending by reading the optimizer's step counter on the host; the
difference is what `steps` steady-state steps cost, with no callback in the
loop. images/s = steps * global batch / time. The table shows the median over
the repeats and their spread, (max - min) / median: on shared cores, trust
rows with a small one.

Costs on 2 CPU cores: each configuration pays 10-30 s of imports and
compilation, and bfloat16 without XLA is slow there (emulated). `--models
dcgan --steps 10 --batch-size 64` (16 configurations) took 17 minutes; the
default run (3 models, 20 DCGAN steps at batch 128) takes well over an hour.
`--quick` checks every path (18 configurations) in about 6 minutes.
"""

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import statistics
import sys
import time

import harness
import numpy as np
from harness import BACKENDS

MODELS = ("dcgan", "gan", "vae")
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
XLA_CHOICES = ("both", "on", "off")
IMAGE_SHAPE = (28, 28, 1)
# An MLP step is far cheaper than a DCGAN step, so it gets more steps for a
# comparable measurement time.
DEFAULT_STEPS = {"dcgan": 20, "gan": 100, "vae": 100}
QUICK = {"steps": 10, "warmup_steps": 1, "repeats": 1, "batch_size": 32}
QUICK_MODELS = ["gan"]


@dataclasses.dataclass
class Config:
    backends: list[str] = dataclasses.field(default_factory=lambda: list(BACKENDS))
    models: list[str] | None = None
    batch_size: int | None = None
    steps: int | None = None
    warmup_steps: int | None = None
    repeats: int | None = None
    policies: list[str] | None = None
    xla: str = "both"
    devices: list[int] | None = None
    quick: bool = False
    timeout: int = 1800
    worker: str | None = None
    probe: bool = False

    def __post_init__(self):
        harness.check_names("backends", self.backends, BACKENDS)
        if self.models is not None:
            harness.check_names("models", self.models, MODELS)
        if self.policies is not None:
            harness.check_names("policies", self.policies, POLICIES)
        if self.xla not in XLA_CHOICES:
            raise ValueError(
                f"xla must be one of {', '.join(XLA_CHOICES)}, got {self.xla!r}"
            )
        for name in ("batch_size", "steps", "warmup_steps", "repeats", "timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        if self.devices is not None:
            if any(count <= 0 for count in self.devices):
                raise ValueError(f"devices must be positive, got {self.devices}")
            self.devices = sorted(set(self.devices))

    def resolved(self, name):
        """A run setting: the flag if given, else its --quick or default value."""
        value = getattr(self, name)
        if value is not None:
            return value
        if self.quick:
            return QUICK[name]
        return {"batch_size": 128, "warmup_steps": 2, "repeats": 3}[name]

    def steps_for(self, model_name):
        if self.steps is not None:
            return self.steps
        return QUICK["steps"] if self.quick else DEFAULT_STEPS[model_name]

    @property
    def model_list(self):
        if self.models is not None:
            return self.models
        return QUICK_MODELS if self.quick else list(MODELS)

    @property
    def xla_settings(self):
        return {"both": [False, True], "on": [True], "off": [False]}[self.xla]


def parse_args(argv=None) -> Config:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument(
        "--models",
        nargs="+",
        help=f"from {', '.join(MODELS)}; default all ({QUICK_MODELS[0]} with --quick)",
    )
    parser.add_argument(
        "--batch-size", type=int, help="global batch, split across devices (128)"
    )
    parser.add_argument(
        "--steps",
        type=int,
        help="timed steps per repeat; default "
        + ", ".join(f"{m} {s}" for m, s in DEFAULT_STEPS.items()),
    )
    parser.add_argument(
        "--warmup-steps", type=int, help="untimed steps first (compilation) (2)"
    )
    parser.add_argument("--repeats", type=int, help="timed repeats; median (3)")
    parser.add_argument(
        "--policies",
        nargs="+",
        help="dtype policies from float32, mixed_bfloat16, mixed_float16 (GPU "
        "only); default float32 and mixed_bfloat16, plus mixed_float16 with a GPU",
    )
    parser.add_argument(
        "--xla", default="both", choices=XLA_CHOICES, help="compile(jit_compile=...)"
    )
    parser.add_argument(
        "--devices",
        nargs="+",
        type=int,
        help="device counts; default 1 and 2 on a CPU (logical devices), "
        "1 and every GPU on a GPU machine",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke check: gan only, batch 32, 10 steps, 1 warm-up step, 1 repeat "
        "(flags given explicitly win)",
    )
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds per configuration"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    return Config(**vars(parser.parse_args(argv)))


def main(config: Config) -> int:
    """Measures every configuration in its own child process; prints the table.

    Returns the exit status: 1 if a configuration failed.
    """
    if config.probe:
        harness.report(probe(config.backends))
        return 0
    if config.worker is not None:
        harness.report(measure(json.loads(config.worker)))
        return 0

    machine = machine_facts()
    # The backends are asked about their GPUs in a child: in this process,
    # JAX would take most of the GPU memory away from the measuring children.
    accelerators = harness.run_child(
        __file__, ["--probe", "--backends", *config.backends], timeout=config.timeout
    )
    runs, skipped = plan(config, accelerators)
    print_setup(config, machine, accelerators, len(runs))
    for number, run in enumerate(runs, 1):
        print(f"[{number}/{len(runs)}] {_describe(run)} ...", end=" ", flush=True)
        start = time.perf_counter()
        try:
            run["result"] = harness.run_child(
                __file__,
                ["--worker", json.dumps(run)],
                run["backend"],
                timeout=config.timeout,
            )
            median = statistics.median(run["result"]["images_per_second"])
            print(
                f"{median:,.0f} images/s ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
        except RuntimeError as error:
            run["error"] = str(error)
            print(f"failed ({time.perf_counter() - start:.0f} s)", flush=True)
    print_report(runs, skipped, accelerators)
    return 1 if any("error" in run for run in runs) else 0


def plan(config, accelerators):
    """The configurations to run, and the (what, why) of those left out."""
    any_gpu = any(accelerators[b]["gpus"] for b in config.backends)
    policies = config.policies
    if policies is None:
        policies = ["float32", "mixed_bfloat16"]
        if any_gpu:
            policies.append("mixed_float16")
    runs, skipped = [], []
    for backend in config.backends:
        gpus = accelerators[backend]["gpus"]
        counts = config.devices or (sorted({1, len(gpus)}) if gpus else [1, 2])
        for devices in counts:
            if backend == "torch" and devices > 1:
                skipped.append(
                    (f"torch on {devices} devices", "kgen does not distribute PyTorch")
                )
                continue
            if gpus and devices > len(gpus):
                skipped.append(
                    (f"{backend} on {devices} devices", f"{len(gpus)} GPU(s) visible")
                )
                continue
            for policy in policies:
                if policy == "mixed_float16" and not gpus:
                    skipped.append(
                        (f"{backend} mixed_float16", "needs a GPU; none visible")
                    )
                    continue
                for xla in config.xla_settings:
                    if backend == "tensorflow" and xla and devices > 1 and not gpus:
                        # Plain Keras models fail the same way.
                        skipped.append(
                            (
                                "tensorflow with XLA on logical CPU devices",
                                "an XLA step cannot reach the variables of a "
                                "second logical CPU device (TensorFlow's XLA "
                                "known issue 'tf.Variable on a different device')",
                            )
                        )
                        continue
                    if backend == "torch" and xla:
                        skipped.append(
                            (
                                "torch with XLA on",
                                "jit_compile=True is torch.compile on PyTorch, not XLA",
                            )
                        )
                        continue
                    for model in config.model_list:
                        runs.append(
                            {
                                "backend": backend,
                                "model": model,
                                "devices": devices,
                                "gpu": bool(gpus),
                                "policy": policy,
                                "xla": xla,
                                "batch_size": config.resolved("batch_size"),
                                "steps": config.steps_for(model),
                                "warmup_steps": config.resolved("warmup_steps"),
                                "repeats": config.resolved("repeats"),
                            }
                        )
    # One line per reason, in first-seen order.
    return runs, list(dict.fromkeys(skipped))


def default_xla(backend, gpu):
    """What Keras' `jit_compile="auto"` picks for a kgen model."""
    return backend == "jax" or (backend == "tensorflow" and gpu)


# Child processes.


def probe(backends):
    """The GPUs each backend sees, and its version, without using them."""
    facts = {}
    for backend in backends:
        gpus, error = [], None
        try:
            gpus = harness.gpus(backend)
        except Exception as exception:
            error = f"{type(exception).__name__}: {exception}"
        facts[backend] = {
            "gpus": gpus,
            "version": harness.version(backend),
            "error": error,
        }
    return facts


def measure(run):
    """Trains one configuration in this process; returns images/s per repeat."""
    backend, devices, gpu = run["backend"], run["devices"], run["gpu"]
    if os.environ.get("KERAS_BACKEND") != backend:
        raise ValueError(f"The worker for {backend} needs KERAS_BACKEND={backend}")
    # The devices must be split before the backend starts.
    if backend == "jax" and not gpu and devices > 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_force_host_platform_device_count={devices}".strip()
        )
    if backend == "tensorflow" and not gpu and devices > 1:
        import tensorflow as tf

        (cpu,) = tf.config.list_physical_devices("CPU")
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * devices
        )

    import keras

    keras.mixed_precision.set_dtype_policy(run["policy"])
    keras.utils.set_random_seed(0)
    batch_size, steps, warmup = run["batch_size"], run["steps"], run["warmup_steps"]
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, ((warmup + steps) * batch_size, *IMAGE_SHAPE))
    images = images.astype("float32")
    if backend == "tensorflow":
        import tensorflow as tf

        # MirroredStrategy splits each global batch of a tf.data pipeline.
        images = tf.data.Dataset.from_tensor_slices(images)
        images = images.batch(batch_size, drop_remainder=True).repeat()
        images = images.prefetch(tf.data.AUTOTUNE)
    scope, replicas = _data_parallel_scope(backend, devices, gpu)
    with scope:
        model = _build(run["model"])
        model.compile(jit_compile=run["xla"])
        seconds = harness.time_steps(
            harness.fit_run(model, images, batch_size), warmup, steps, run["repeats"]
        )
    if backend == "jax":
        # Variables are replicated on every device of the data-parallel mesh.
        replicas = len(model.trainable_variables[0].value.sharding.device_set)
    if replicas != devices:
        raise RuntimeError(f"Trained on {replicas} replica(s), not {devices}")
    return {
        "images_per_second": [batch_size / s for s in seconds],
        "jit_compile": bool(model.jit_compile),
        "compute_dtype": model.dtype_policy.compute_dtype,
        "replicas": replicas,
    }


def _data_parallel_scope(backend, devices, gpu):
    """`(scope, replicas)`: plain single-device training for 1 device."""
    if devices == 1:
        return contextlib.nullcontext(), 1
    if backend == "tensorflow":
        import tensorflow as tf

        kind = "gpu" if gpu else "cpu"
        strategy = tf.distribute.MirroredStrategy(
            [f"/{kind}:{i}" for i in range(devices)]
        )
        return strategy.scope(), strategy.num_replicas_in_sync
    if backend == "jax":
        import jax
        import keras

        available = jax.devices()
        if len(available) < devices:
            raise RuntimeError(f"JAX sees {len(available)} device(s), not {devices}")
        distribution = keras.distribution.DataParallel(devices=available[:devices])
        return distribution.scope(), None
    raise ValueError("kgen does not distribute PyTorch training")


def _build(name):
    import kgen

    if name == "dcgan":
        return kgen.DCGAN(
            image_shape=IMAGE_SHAPE, latent_dim=100, base_filters=64, seed=0
        )
    if name == "gan":
        return kgen.GAN(
            kgen.networks.mlp_generator(), kgen.networks.mlp_discriminator(), seed=0
        )
    return kgen.VAE(
        kgen.networks.mlp_encoder(latent_dim=50),
        kgen.networks.mlp_decoder(latent_dim=50),
        seed=0,
    )


# Report.


def machine_facts():
    """CPU count and model, and the instruction sets that matter for bfloat16."""
    cpu_model, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    cpu_model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    usable = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count()
    )
    return {
        "cpus": os.cpu_count(),
        "usable_cpus": usable,
        "cpu_model": cpu_model,
        "cpu_flags": [
            flag
            for flag in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")
            if flag in flags
        ],
    }


def print_setup(config, machine, accelerators, num_runs):
    print(
        f"machine: {machine['cpus']} CPUs ({machine['usable_cpus']} usable), "
        f"{machine['cpu_model']}; CPU flags: {', '.join(machine['cpu_flags']) or '?'}"
    )
    for backend, facts in accelerators.items():
        gpus = ", ".join(facts["gpus"]) or "none (CPU only)"
        note = f" [probe failed: {facts['error']}]" if facts["error"] else ""
        print(f"{backend} {facts['version']}: GPUs found: {gpus}{note}")
    print(f"keras {harness.version('keras')}, kgen {harness.version('kgen')}")
    steps = ", ".join(f"{m} {config.steps_for(m)}" for m in config.model_list)
    print(
        f"data: random float32 images in [-1, 1], {'x'.join(map(str, IMAGE_SHAPE))}, "
        f"global batch {config.resolved('batch_size')} (synthetic: throughput "
        "does not depend on the pixels); tf.data on TensorFlow, NumPy arrays "
        "on JAX and PyTorch"
    )
    print(
        f"timing: {config.resolved('warmup_steps')} untimed warm-up step(s), then "
        f"median of {config.resolved('repeats')} timed repeat(s) of steps: {steps}"
    )
    print(f"{num_runs} configurations, each in its own process")
    print()


def print_report(runs, skipped, accelerators):
    header = (
        "backend",
        "model",
        "devices",
        "policy",
        "XLA",
        "images/s",
        "spread",
        "speed-up",
    )
    lines = []
    for run in runs:
        gpu = run["gpu"]
        baseline = _baseline(run, runs)
        if gpu:
            kind = "(GPU)" if run["devices"] == 1 else "(GPUs)"
        else:
            kind = "(CPU)" if run["devices"] == 1 else "(logical CPUs)"
        xla = "on" if run["xla"] else "off"
        if "result" in run and bool(run["result"]["jit_compile"]) != run["xla"]:
            xla += " (Keras turned it off)"
        elif run["xla"] == default_xla(run["backend"], gpu):
            xla += " (default)"
        if "error" in run:
            speed, spread, speed_up = "failed", "", ""
        else:
            rates = run["result"]["images_per_second"]
            median = statistics.median(rates)
            speed = f"{median:,.0f}"
            spread = (
                f"{(max(rates) - min(rates)) / median:.0%}" if len(rates) > 1 else "-"
            )
            if run is baseline:
                speed_up = "1.00 (base)"
            elif baseline is not None and "result" in baseline:
                base = statistics.median(baseline["result"]["images_per_second"])
                speed_up = f"{median / base:.2f}"
            else:
                speed_up = "n/a"
        lines.append(
            (
                run["backend"],
                run["model"],
                f"{run['devices']} {kind}",
                run["policy"],
                xla,
                speed,
                spread,
                speed_up,
            )
        )
    print()
    harness.print_table(header, lines, left=5)
    print()
    print(
        "speed-up: images/s over the same backend and model on 1 device, float32, "
        "Keras' default XLA setting (marked base; if not run, the first 1-device "
        "float32 row)."
    )
    print(
        "spread: (max - min) / median of the timed repeats. Steady state: "
        "compilation and per-fit start-up are not timed."
    )
    if not all(accelerators[b]["gpus"] for b in accelerators if b != "torch"):
        print(
            "On a CPU, the 2 logical devices share the same cores: the 2-device "
            "rows measure the overhead of data-parallel training, not a speed-up."
        )
    for what, why in skipped:
        print(f"skipped: {what}: {why}")
    for run in runs:
        if "error" in run:
            print(f"\nFAILED {_describe(run)}: {run['error']}")


def _baseline(run, runs):
    """The 1-device float32 row that `run`'s speed-up is relative to."""
    candidates = [
        other
        for other in runs
        if other["backend"] == run["backend"]
        and other["model"] == run["model"]
        and other["devices"] == 1
        and other["policy"] == "float32"
    ]
    for other in candidates:
        if other["xla"] == default_xla(other["backend"], other["gpu"]):
            return other
    return candidates[0] if candidates else None


def _describe(run):
    return (
        f"{run['backend']} {run['model']} devices={run['devices']} "
        f"{run['policy']} xla={'on' if run['xla'] else 'off'}"
    )


if __name__ == "__main__":
    sys.exit(main(parse_args()))
