"""Worker for tests/test_multiworker.py: a few steps of tiny models, any cluster size.

`python tests/multiworker_run.py OUT_DIR NAME...` trains each tiny model NAME
(tests/tiny_models.py) for one epoch of 4 global batches of 16 inside
`kgen.distributed.distributed_scope()`, fed through `kgen.distributed.shard`.
Alone it is the one-process reference; under `kgen launch --workers 2` each
worker runs its share. Only the chief writes, into `OUT_DIR/rank-0/` (the
folder is named after the writer's rank): `NAME.json` (the epoch's metrics),
`NAME.npz` (the weights) and `NAME.keras`.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tiny_models import tiny_model  # noqa: E402

import kgen  # noqa: E402
from kgen import distributed  # noqa: E402

GLOBAL_BATCH = 16
STEPS = 4


def dataset(name, by_examples=False):
    """Global batches through `shard()`, or examples through `shard_elements()`."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (STEPS * GLOBAL_BATCH, 28, 28, 1)).astype("float32")
    labels = (np.arange(len(images)) % 3).astype("int32")
    inputs = (images, labels) if name == "cgan" else images
    examples = tf.data.Dataset.from_tensor_slices(inputs)
    if by_examples:
        return distributed.shard_elements(examples, GLOBAL_BATCH)
    return distributed.shard(examples.batch(GLOBAL_BATCH))


def evaluation():
    """`Evaluate` of 33 samples against 32 random images, in the features of a
    tiny network: 33 rows split over 2 workers pads the last share."""
    real = np.random.default_rng(1).uniform(-1, 1, (32, 28, 28, 1)).astype("float32")
    extractor = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(8)]
    )
    return kgen.callbacks.Evaluate(
        real,
        extractor=extractor,
        num_samples=33,
        batch_size=16,
        kid_subsets=2,
        kid_subset_size=8,
        cache_dir=None,
    )


def train(name):
    """`name` is a tiny model's, with options after `+`: `dcgan+sync` has
    synchronized batch norm, `+noxla` trains without XLA, `+examples` shards
    the examples explicitly (`shard_elements`), `+evaluate` logs the FID and
    KID of `kgen.callbacks.Evaluate` (in a tiny random feature space) and,
    as `generated`, how many images this worker generated for it."""
    keras.utils.set_random_seed(0)
    kind, *options = name.split("+")
    with distributed.distributed_scope():
        model = tiny_model(kind)
        if "sync" in options:
            distributed.synchronize_batch_norm(model)
        model.compile(**({"jit_compile": False} if "noxla" in options else {}))
        callbacks = [evaluation()] if "evaluate" in options else []
        generated = count_generated(model) if callbacks else None
        history = model.fit(
            dataset(kind, "examples" in options),
            epochs=1,
            verbose=0,
            callbacks=callbacks,
        )
    metrics = {key: float(values[-1]) for key, values in history.history.items()}
    if generated is not None:
        metrics["generated"] = sum(generated)
    return model, metrics


def count_generated(model):
    """A list to which each `model.generate()` call appends its image count."""
    counts = []
    generate = model.generate

    def counting_generate(*args, **kwargs):
        images = generate(*args, **kwargs)
        counts.append(len(images))
        return images

    model.generate = counting_generate
    return counts


def main(out, names):
    # keras.distribution.initialize() must come before any JAX computation.
    distributed.setup()
    for name in names:
        model, metrics = train(name)
        metrics["workers"] = distributed.num_workers()
        if distributed.is_chief():
            folder = out / f"rank-{distributed.worker_index()}"
            folder.mkdir(parents=True, exist_ok=True)
            weights = {
                f"{i}:{v.path}": np.asarray(keras.ops.convert_to_numpy(v.value))
                for i, v in enumerate(model.weights)
            }
            np.savez(folder / f"{name}.npz", **weights)
            (folder / f"{name}.json").write_text(json.dumps(metrics))
            model.save(folder / f"{name}.keras")
        print(
            f"{name} done on worker {distributed.worker_index()}: "
            f"{json.dumps(metrics)}",
            flush=True,
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
