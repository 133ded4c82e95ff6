"""Two fixes to Keras 3.15's TensorFlow trainer under `MultiWorkerMirroredStrategy`.

TensorFlow-only code that `kgen.distributed.setup()` applies once, when it
starts a multi-worker strategy (`patch_keras_trainer`); one process and the
other backends never touch Keras' trainer. Each fix is a wrapper that leaves
single-worker runs to Keras' own code.
"""


def patch_keras_trainer() -> None:
    """Applies both fixes below (idempotent)."""
    _mean_scalar_metrics_across_workers()
    _build_from_a_local_batch()


def _mean_scalar_metrics_across_workers():
    """Works around Keras 3 averaging scalar metrics with `axis=0` on many workers.

    Keras' TensorFlow trainer reduces the step's metrics over replicas with
    `strategy.reduce("MEAN", value, axis=0)` when the strategy spans several
    workers, which fails on a scalar ("Invalid reduction dimension 0 for
    input with 0 dimensions", tensorflow/tensorflow#72388; still so in Keras
    3.15). kgen's metrics are scalars, each replica's mean over its rows: the
    mean over replicas (`axis=None`) is the mean over the global batch.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, "kgen_patched", False):
        return
    keras_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        multi_worker = trainer._collective_all_reduce_multi_worker(strategy)
        if not multi_worker or reduction not in ("auto", "mean"):
            return keras_reduce(values, strategy, reduction)

        def mean(value):
            local = strategy.experimental_local_results(value)[0]
            axis = 0 if local.shape.rank else None
            return strategy.reduce("MEAN", value, axis=axis)

        return tf.nest.map_structure(mean, values)

    reduce_per_replica.kgen_patched = True
    trainer.reduce_per_replica = reduce_per_replica


def _build_from_a_local_batch():
    """Works around Keras 3 averaging a whole batch across workers to build a model.

    Before the first step Keras' TensorFlow trainer builds the model from one
    batch, which it first averages over the replicas with
    `strategy.reduce("MEAN", batch, axis=None)`. `MultiWorkerMirroredStrategy`
    reduces one tensor at a time, so an `(images, labels)` batch (the
    conditional GAN's) fails: "Attempt to convert a value (PerReplica...) to
    a Tensor" (Keras 3.15). The build needs only the shapes and dtypes, which
    this worker's first replica's rows have, without a collective.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    trainer_class = trainer.TensorFlowTrainer
    if getattr(trainer_class._maybe_symbolic_build, "kgen_patched", False):
        return
    keras_build = trainer_class._maybe_symbolic_build

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        multi_worker = strategy is not None and (
            trainer._collective_all_reduce_multi_worker(strategy)
        )
        if not multi_worker or iterator is None:
            return keras_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = next(batches)
            break

        def local(value):
            if isinstance(value, tf.distribute.DistributedValues):
                return strategy.experimental_local_results(value)[0]
            return value

        data_batch = tf.nest.map_structure(local, data_batch)
        return keras_build(self, data_batch=data_batch)

    _maybe_symbolic_build.kgen_patched = True
    trainer_class._maybe_symbolic_build = _maybe_symbolic_build
