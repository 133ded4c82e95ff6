"""Child process for tests/test_distribution.py: one epoch on 1 and 2 CPU devices.

`python tests/distributed_run.py tensorflow|jax OUT.json` splits the CPU into two
devices (TensorFlow logical devices; XLA's host platform device count for JAX),
which must happen before the backend starts, hence a separate process. It
trains each model for one epoch on one device and, from the same seeds, on two
(`tf.distribute.MirroredStrategy` / `keras.distribution.DataParallel`) with
the same global batch, and writes the final metrics and replica facts.
"""

import json
import os
import sys

BACKEND = sys.argv[1]
os.environ["KERAS_BACKEND"] = BACKEND
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"

import numpy as np  # noqa: E402

if BACKEND == "tensorflow":
    import tensorflow as tf

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )

import keras  # noqa: E402
from tiny_models import tiny_model  # noqa: E402

from kgen import backend  # noqa: E402

GLOBAL_BATCH = 16


def data(name):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4 * GLOBAL_BATCH, 28, 28, 1)).astype("float32")
    labels = (np.arange(len(images)) % 3).astype("int32")
    return images, labels if name == "cgan" else None


def train(name, scope):
    keras.utils.set_random_seed(0)
    images, labels = data(name)
    with scope:
        model = tiny_model(name)
        model.compile()
        if BACKEND == "tensorflow":
            # MirroredStrategy splits each global batch of a tf.data pipeline.
            inputs = images if labels is None else (images, labels)
            dataset = tf.data.Dataset.from_tensor_slices(inputs).batch(GLOBAL_BATCH)
            history = model.fit(dataset, epochs=1, verbose=0)
        else:
            history = model.fit(
                images,
                labels,
                batch_size=GLOBAL_BATCH,
                epochs=1,
                shuffle=False,
                verbose=0,
            )
    metrics = {key: float(values[-1]) for key, values in history.history.items()}
    return model, metrics


def tensorflow_runs():
    results = {}
    for devices in (1, 2):
        strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(devices)])
        # DCGAN is left to the JAX run: MirroredStrategy normalises batches per
        # replica, so it cannot match one device (the README says so).
        for name in ("gan", "cgan", "vae"):
            _, metrics = train(name, strategy.scope())
            results[f"{name}/{devices}"] = metrics
        results[f"replicas/{devices}"] = strategy.num_replicas_in_sync
    # Noise inside a replicated step: each replica's rows of one global draw.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        seed = keras.random.SeedGenerator(3)
    per_replica = strategy.run(lambda: backend.normal((2, 4), seed=seed))
    rows = [
        t.numpy().tolist() for t in strategy.experimental_local_results(per_replica)
    ]
    single = keras.random.normal((4, 4), seed=keras.random.SeedGenerator(3))
    results["noise/replicas"] = rows
    results["noise/single"] = np.asarray(single).tolist()
    return results


def jax_runs():
    import jax

    results = {}
    for devices in (1, 2):
        distribution = keras.distribution.DataParallel(devices=jax.devices()[:devices])
        # JAX compiles each model's step for each device count: the conditional
        # GAN (the GAN's step plus labels) is left to the TensorFlow run.
        for name in ("gan", "dcgan", "vae"):
            model, metrics = train(name, distribution.scope())
            results[f"{name}/{devices}"] = metrics
            variable = model.trainable_variables[0].value
            results[f"replicas/{devices}"] = len(variable.sharding.device_set)
    return results


if __name__ == "__main__":
    runs = tensorflow_runs() if BACKEND == "tensorflow" else jax_runs()
    with open(sys.argv[2], "w") as file:
        json.dump(runs, file)
