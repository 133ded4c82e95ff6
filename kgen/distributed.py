"""Multi-worker training from the environment: the engine, the chief, the data shard.

The training code is the single-device code inside `distributed_scope()`.
Which engine it enters is read from the environment, as `kgen launch` (or a
cluster's scheduler) sets it:

- `TF_CONFIG` set, TensorFlow backend: `tf.distribute.MultiWorkerMirroredStrategy`
  over every worker's devices.
- `KERAS_DISTRIBUTION_NUM_PROCESSES` (with `..._JOB_ADDRESSES` and
  `..._PROCESS_ID`) set, JAX backend: `keras.distribution.initialize()`, then
  `keras.distribution.DataParallel` over the devices of all processes.
- Neither: one process; the scope changes nothing.

Keras 3 has no multi-process engine for PyTorch: under a multi-worker
environment on PyTorch, `setup()` refuses rather than train N unrelated copies.

The batch size of the pipeline is the global batch, as on one device: pass
the pipeline through `shard()` and each worker feeds its rows of every
global batch, so a two-worker step is one device's step on the same batch.
Only the chief (worker 0) should keep files, but every worker must run the
saving code, which can take part in collectives: see `chief_path()`. The
recipes' `--distributed` flag is `training_scope()`.

Example:

```python
import kgen, kgen.distributed

with kgen.distributed.distributed_scope():
    model = kgen.DCGAN()
    model.compile()
    model.fit(kgen.distributed.shard(dataset_of_global_batches), epochs=5)
with kgen.distributed.chief_path("dcgan.keras") as path:
    model.save(path)  # on every worker; only the chief's file is kept
```
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path

import keras
import numpy as np

from kgen.backend import nested_layers

JAX_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)

# The engine `setup()` made: a tf.distribute strategy or a keras Distribution.
_engine = None


def cluster() -> tuple[int, int]:
    """`(number of workers, this worker's index)` from the environment.

    `(1, 0)` without `TF_CONFIG` or `KERAS_DISTRIBUTION_*`. Reads only the
    environment, so it answers before (and without) `setup()`.
    """
    tf_config = os.environ.get("TF_CONFIG")
    if tf_config:
        config = json.loads(tf_config)
        workers = config.get("cluster", {}).get("worker", [])
        task = config.get("task", {})
        # A "chief" task is worker 0 of TensorFlow's numbering.
        chiefs = config.get("cluster", {}).get("chief", [])
        index = int(task.get("index", 0))
        if task.get("type") == "worker":
            index += len(chiefs)
        return max(len(workers) + len(chiefs), 1), index
    processes = os.environ.get(JAX_VARIABLES[1])
    if processes:
        return int(processes), int(os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", 0))
    return 1, 0


def num_workers() -> int:
    """How many workers (processes) train together; 1 without a cluster."""
    return cluster()[0]


def worker_index() -> int:
    """This worker's rank, 0 to `num_workers() - 1`; 0 without a cluster."""
    return cluster()[1]


def is_chief() -> bool:
    """Whether this worker writes the files: model files, grids, backups, logs.

    True for worker 0, and always without a cluster. Every worker must still
    take part in training and in anything collective (evaluation under the
    scope, `BackupAndRestore`, saving: see `chief_path()`); only keeping the
    results is the chief's.
    """
    return worker_index() == 0


@contextlib.contextmanager
def chief_path(path):
    """Yields where this worker saves `path`: `path` itself on the chief only.

    Every worker must run the saving code, because saving can take part in
    collectives: on TensorFlow a variable created under the strategy (Keras'
    saving makes a throwaway optimizer) broadcasts its initial value from the
    chief, and on JAX putting a value on the devices of several processes
    checks it across them; one worker saving alone hangs or fails. So the
    chief writes `path` and every other worker writes a file of the same
    name in a temporary directory, deleted when the block ends.

    Example:

    ```python
    with kgen.distributed.chief_path("runs/dcgan.keras") as path:
        model.save(path)
    ```
    """
    if is_chief():
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="kgen-worker-") as directory:
        yield Path(directory) / Path(path).name


class ChiefOnly(keras.callbacks.Callback):
    """Runs `callback` on the chief only: for callbacks that write files.

    Wrap callbacks that only write the logs (`CSVLogger`, `TensorBoard` and
    the like): `callbacks=[kgen.distributed.ChiefOnly(keras.callbacks.CSVLogger(...))]`.
    Callbacks that save or run the model before writing (`ModelCheckpoint`)
    must run on every worker and write through `chief_path()`, as kgen's
    `SampleGrid` and `BackupAndRestore` do. Do not wrap callbacks that every worker must run: ones that train,
    evaluate or restore collectively (`BackupAndRestore`, `EarlyStopping`).
    Outside a cluster it is the wrapped callback.
    """

    def __init__(self, callback):
        super().__init__()
        self.callback = callback

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)

    def __getattribute__(self, name):
        # Every on_* hook: the wrapped callback's on the chief, nothing elsewhere.
        if name.startswith("on_"):
            if is_chief():
                return getattr(self.callback, name)
            return lambda *args, **kwargs: None
        return super().__getattribute__(name)


def setup():
    """Starts the multi-worker engine the environment asks for; returns it.

    Returns the `tf.distribute.MultiWorkerMirroredStrategy`, the
    `keras.distribution.DataParallel`, or `None` for one process. Call it
    before building models (TensorFlow wants the strategy before any other
    operation). Calling it again returns the same engine.
    """
    global _engine
    if _engine is not None:
        return _engine
    backend = keras.backend.backend()
    if backend == "torch" and cluster()[0] > 1:
        raise ValueError(
            "this is one of several workers, but Keras has no multi-process "
            "PyTorch backend and kgen will not train unrelated copies: use "
            "KERAS_BACKEND=tensorflow (TF_CONFIG) or KERAS_BACKEND=jax "
            "(KERAS_DISTRIBUTION_*)"
        )
    if os.environ.get("TF_CONFIG"):
        if backend != "tensorflow":
            raise ValueError(
                f"TF_CONFIG is set but Keras runs on {backend}; "
                "set KERAS_BACKEND=tensorflow, or unset TF_CONFIG"
            )
        import tensorflow as tf

        from kgen.backend.tensorflow_multi_worker import patch_keras_trainer

        _engine = tf.distribute.MultiWorkerMirroredStrategy()
        patch_keras_trainer()
    elif any(os.environ.get(name) for name in JAX_VARIABLES):
        if backend != "jax":
            raise ValueError(
                f"KERAS_DISTRIBUTION_* is set but Keras runs on {backend}: "
                "kgen trains on several processes with KERAS_BACKEND=jax "
                "(Keras has no multi-process PyTorch backend), or tensorflow "
                "with TF_CONFIG"
            )
        keras.distribution.initialize()
        # Every device of every process: keras lists the global devices.
        _engine = keras.distribution.DataParallel()
    return _engine


def all_gather(array) -> np.ndarray:
    """`array` of every worker, concatenated along axis 0 in worker order.

    Every worker must call it (it is a collective), each with an array of
    the same shape but for axis 0. It is `np.asarray(array)` for one
    process. On TensorFlow the `MultiWorkerMirroredStrategy`'s collective
    gather (this worker's array on its first replica, nothing on the
    others); on JAX `multihost_utils.process_allgather`, which needs equal
    shapes on every process.

    Example:

    ```python
    everything = kgen.distributed.all_gather(my_features)
    ```
    """
    array = np.asarray(array)
    engine = setup()
    if engine is None or num_workers() == 1:
        return array
    if keras.backend.backend() == "jax":
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(array, tiled=True))

    def replica_rows(context):
        # Each worker's rows once, however many replicas (devices) it has.
        return array if _is_first_local_replica(engine, context) else array[:0]

    rows = engine.experimental_distribute_values_from_function(replica_rows)
    return np.asarray(engine.gather(rows, axis=0))


def _is_first_local_replica(strategy, context):
    replicas_per_worker = strategy.num_replicas_in_sync // num_workers()
    return context.replica_id_in_sync_group % replicas_per_worker == 0


@contextlib.contextmanager
def distributed_scope():
    """`setup()`'s engine's scope (a no-op for one process)."""
    engine = setup()
    if engine is None:
        yield None
        return
    with engine.scope():
        yield engine


@contextlib.contextmanager
def training_scope(distributed: bool):
    """The scope a recipe's `--distributed` flag asks for; says what it does.

    With `distributed` False it is a no-op, but refuses to run as one of
    several workers (N copies would train apart and write the same files).
    With `distributed` True it is `distributed_scope()` and prints, on the
    chief, which engine trains on how many workers, or why it trains in one
    process: no cluster in the environment, or PyTorch (under a multi-worker
    environment PyTorch is refused, see `setup()`).
    """
    workers, index = cluster()
    if not distributed:
        if workers > 1:
            raise ValueError(
                f"this is worker {index} of {workers} (TF_CONFIG or "
                "KERAS_DISTRIBUTION_* is set) but --distributed is not: pass "
                "--distributed, or run the command without kgen launch"
            )
        yield None
        return
    backend = keras.backend.backend()
    if workers == 1:
        if backend == "torch":
            print(
                "--distributed: Keras has no multi-process PyTorch backend, so "
                "this trains on one device; use KERAS_BACKEND=tensorflow or jax "
                "with kgen launch to train on several workers",
                flush=True,
            )
        else:
            print(
                "--distributed: no cluster in the environment (TF_CONFIG or "
                "KERAS_DISTRIBUTION_*), so this trains in one process; start it "
                "with kgen launch --workers N to train on several",
                flush=True,
            )
    with distributed_scope() as engine:
        if engine is not None and index == 0:
            name = (
                "tf.distribute.MultiWorkerMirroredStrategy"
                if backend == "tensorflow"
                else "keras.distribution.DataParallel"
            )
            print(
                f"Training on {workers} workers with {name}; "
                "the batch size is the global batch",
                flush=True,
            )
        yield engine


def shard(dataset, *, by_files: bool = False):
    """The part of `dataset` this worker feeds to `fit`.

    `dataset` is a `tf.data.Dataset` of global batches, the same on every
    worker (same files, order and seeds). Each worker feeds its contiguous
    rows of every global batch, so a step sees the same global batch as one
    device, and each replica's rows meet that replica's rows of the noise.

    - TensorFlow: `tf.data` auto-shard, policy DATA: Keras hands the dataset
      to the strategy, which splits each global batch into per-replica
      batches and gives each worker its own (every worker reads the whole
      pipeline). With `by_files=True`, policy FILE: each worker reads its own
      share of the input files instead (the dataset must read at least as
      many files as there are workers); batches then differ from one
      device's, epochs do not.
    - JAX: `keras.distribution.DataParallel` shards `tf.data` pipelines
      itself (it rebatches to the per-process batch and keeps every
      `num_workers()`-th one); the dataset is returned as it is.
    - One process, or `dataset` None (no validation data): returned as it is.
    """
    engine = setup()
    if engine is None or dataset is None or keras.backend.backend() != "tensorflow":
        return dataset
    import tensorflow as tf

    policy = tf.data.experimental.AutoShardPolicy
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        policy.FILE if by_files else policy.DATA
    )
    return dataset.with_options(options)


def shard_elements(dataset, global_batch_size: int):
    """Explicit sharding on TensorFlow: this worker's examples, batched for `fit`.

    `dataset` yields single examples (not batches). Each worker keeps every
    `num_workers()`-th example (`dataset.shard(num_workers(), worker_index())`)
    and batches them by its replicas' share of `global_batch_size`; the
    result is a `tf.distribute` dataset (`distribute_datasets_from_function`),
    which `fit` takes as it is. Without a cluster, `dataset.batch(global_batch_size)`.

    Use it where auto-shard (`shard()`) cannot split the pipeline the same way
    on every worker: examples from a generator or from unseeded randomness,
    or when reading everything on every worker costs too much. Shuffle and
    augment after sharding (inside `dataset`'s own pipeline, per worker). A
    global batch holds the same examples as one device's but in another order
    (the workers' examples interleave): models whose noise is paired with
    examples (the VAE) then match one device in distribution, not row for row.
    On JAX, `keras.distribution.DataParallel` shards `tf.data` pipelines
    itself: batch by the global batch and use `shard()`.
    """
    engine = setup()
    if engine is None:
        return dataset.batch(global_batch_size)
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "shard_elements() is for TensorFlow; on JAX batch the dataset by "
            "the global batch and pass it through kgen.distributed.shard()"
        )

    def worker_dataset(context):
        shard = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        return shard.batch(context.get_per_replica_batch_size(global_batch_size))

    return engine.distribute_datasets_from_function(worker_dataset)


def synchronize_batch_norm(model, enabled: bool = True) -> int:
    """Makes `model`'s batch norms use the statistics of the global batch.

    Under `tf.distribute` each replica normalises by its own rows unless the
    layer is `keras.layers.BatchNormalization(synchronized=True)`; this sets
    that on every batch norm of `model` (call it before the first step: the
    step is traced with it) and returns how many it set. JAX needs nothing:
    its step runs on the global batch. Only TensorFlow has the option. A
    kgen model's `.keras` file keeps its own settings and loads on every
    backend (checked: a DCGAN saved so on TensorFlow loads on JAX), but a
    network saved on its own stores `synchronized=True`, which Keras refuses
    on JAX and PyTorch: call this with `enabled=False` before saving one.
    """
    if keras.backend.backend() != "tensorflow":
        return 0
    layers = [
        layer
        for layer in nested_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    for layer in layers:
        layer.synchronized = enabled
    return len(layers)
