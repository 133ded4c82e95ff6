"""`Model`: what every kgen model has, whatever it learns.

- Keras' `train_step`/`test_step` run the model's `stateful_train_step(data)`
  and `stateful_test_step(data)`, written once in `keras.ops`, through
  `kgen.backend`'s adapter for the running backend.
- `compile()` takes one optimizer (default `default_optimizer()`), applies
  kgen's backend defaults (`kgen.backend.compile_settings`) and records its
  arguments, so that `.keras` files re-run it on loading.
- `fit` checks its data once before training and shuffles only what Keras
  can shuffle (see `fit`).
- `save`/`save_weights` write atomically and refuse NaN or inf weights.
- `export` writes a SavedModel of `export_endpoints()`, or one of them as an
  ONNX file, on every backend.
- `update_metrics` feeds the loss trackers that `metrics` lists.
"""

import copy
import math
from pathlib import Path

import keras

from kgen import backend
from kgen.export import export_onnx, export_saved_model
from kgen.models.training_data import check_pixels, first_batch
from kgen.networks.validation import check_optimizer
from kgen.saving import atomic_path, check_finite_weights, is_local_path


class Model(keras.Model):
    """Base class of kgen's models: a `keras.Model` trained with `fit`.

    Subclasses write `stateful_train_step(data)` (and `stateful_test_step`
    for `evaluate`) in the stateful style: read variables, call
    `kgen.backend.minimize`, update the trackers with `update_metrics`, and
    return the logs. They list their loss trackers in `metrics`, their
    served functions in `export_endpoints()`, and the config keys that hold
    networks in `network_config_keys` (deserialised by `from_config`).

    Example:

    ```python
    class Quadratic(kgen.models.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.w = self.add_weight(shape=(), initializer="ones", name="w")
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.built = True

        @property
        def metrics(self):
            return [self.loss_tracker]

        def stateful_train_step(self, data):
            loss, _ = kgen.backend.minimize(
                self.optimizer, lambda: (ops.square(self.w), None), [self.w]
            )
            return self.update_metrics(loss)

    model = Quadratic()
    model.compile()  # Adam(1e-3)
    model.fit(np.zeros((8, 1), "float32"), epochs=1)  # lowers w**2
    ```
    """

    # What training images hold: kgen's [-1, 1] pixels (AdaIN's are [0, 1]).
    pixel_range = (-1.0, 1.0)
    # get_config() keys that hold serialised networks.
    network_config_keys = ()
    # Whether this model's steps, without convolutions, train faster under
    # XLA on a TensorFlow CPU (`kgen.backend.compile_settings`).
    dense_steps_prefer_xla = False

    # --- training ---------------------------------------------------------------

    def default_optimizer(self) -> keras.optimizers.Optimizer:
        """What `compile()` uses without an optimizer: `Adam(1e-3)`."""
        return keras.optimizers.Adam(learning_rate=1e-3)

    def compile(self, optimizer=None, **kwargs):
        """Configures training with `optimizer` (default: `default_optimizer()`).

        `**kwargs` go to `keras.Model.compile` (`jit_compile`,
        `steps_per_execution`, `run_eagerly`); the model computes its own
        loss and metrics, so `loss=` and `metrics=` are refused.
        """
        for key in ("loss", "metrics"):
            if key in kwargs:
                raise ValueError(
                    f"{type(self).__name__}.compile() computes its own loss; got {key}="
                )
        optimizer = keras.optimizers.get(optimizer or self.default_optimizer())
        check_optimizer("optimizer", optimizer)
        self.compile_with(optimizer, kwargs, {"optimizer": optimizer, **kwargs})

    def differentiates_twice(self) -> bool:
        """Whether a training step takes a gradient of a gradient (penalties)."""
        return False

    def compile_with(self, optimizer, kwargs, recorded):
        """`keras.Model.compile(optimizer, **kwargs)` with kgen's defaults.

        `recorded` are the arguments of the subclass' `compile()`, which
        `compile_from_config` passes back when a `.keras` file is loaded.
        """
        settings = backend.compile_settings(self, kwargs)
        super().compile(optimizer=optimizer, **settings)
        # kgen's own choice, which fit() may lower; None when the user chose.
        self._default_steps_per_execution = (
            None if "steps_per_execution" in kwargs else settings["steps_per_execution"]
        )
        # Built now so that loading a checkpoint (`.keras`, BackupAndRestore)
        # finds the optimizer's slots before the first step.
        self.optimizer.build(self.trainable_variables)
        self._compile_arguments = recorded

    def get_compile_config(self):
        # Keras restores compile state itself only when compile() is not
        # overridden; kgen's models override it, so they record what they got.
        if not self.compiled:
            return {}
        return {
            key: keras.saving.serialize_keras_object(value)
            for key, value in self._compile_arguments.items()
        }

    def compile_from_config(self, config):
        self.compile(
            **{
                key: keras.saving.deserialize_keras_object(value)
                for key, value in config.items()
            }
        )

    def train_step(self, *args):
        # Keras calls train_step(data) on TensorFlow/PyTorch and
        # train_step(state, data) on JAX; kgen.backend adapts both.
        return backend.train_step(self, *args)

    def test_step(self, *args):
        return backend.test_step(self, *args)

    def update_metrics(self, *values):
        """Feeds `values` to `self.metrics`, in order; returns their results."""
        for metric, value in zip(self.metrics, values, strict=True):
            metric.update_state(value)
        return self.metric_results()

    def metric_results(self):
        """`{name: result}` of `self.metrics`: what a step returns as its logs."""
        return {metric.name: metric.result() for metric in self.metrics}

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, checking its data first and shuffling only arrays.

        Keras' `fit` defaults to `shuffle=True` and then warns, on every call
        with a `tf.data.Dataset`, generator or loader, that it cannot shuffle
        it. kgen's pipelines (`kgen.data`) shuffle themselves, so without an
        explicit `shuffle` argument kgen models shuffle only what Keras can
        shuffle: arrays, tensors and containers of them.

        Before training, `fit` looks at its data once, on the host: all of an
        array, the first batch of a dataset (`take(1)`), `PyDataset` or
        `DataLoader`. Empty data, NaN or infinite pixels and pixels out of
        `pixel_range` raise a `ValueError` then, instead of training on
        garbage. Python generators are not looked at: peeking would consume
        them.
        """
        # shuffle is fit's 9th parameter: x, y and 6 more before it.
        if "shuffle" not in kwargs and len(args) < 7:
            kwargs["shuffle"] = hasattr(x, "shape") or isinstance(
                x, (list, tuple, dict)
            )
        # GANs hold theirs in a MultiOptimizer, whose own learning rate is unused.
        names = ("d_optimizer", "g_optimizer")
        for name in names if hasattr(self, names[0]) else ("optimizer",):
            check_optimizer(name, getattr(self, name, None))
        first = first_batch(x, y)
        if first is not None:
            self.check_training_data(first)
        self._run_whole_executions(
            kwargs.get("steps_per_epoch"), kwargs.get("validation_steps")
        )
        self._fitting = True
        try:
            return super().fit(x, y, *args, **kwargs)
        finally:
            self._fitting = False

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, running exactly `steps` batches when given."""
        # During fit (its validation, or a callback's evaluate) the compiled
        # steps in use must stay.
        if not getattr(self, "_fitting", False):
            self._run_whole_executions(kwargs.get("steps"))
        return super().evaluate(x, y, *args, **kwargs)

    def _run_whole_executions(self, *step_counts):
        """Lowers kgen's default `steps_per_execution` to divide `step_counts`.

        Keras runs whole executions, so `fit(steps_per_epoch=25)` with 10
        steps per execution would train 30 steps an epoch. A value the user
        passed to `compile()` is theirs and stays.
        """
        default = getattr(self, "_default_steps_per_execution", None)
        if default is None:
            return
        wanted = math.gcd(default, *(count or 0 for count in step_counts))
        if wanted != self.steps_per_execution:
            self.steps_per_execution = wanted
            # Keras builds them again, for the new count, when they are None.
            self.train_function = self.test_function = None

    def check_training_data(self, data):
        """Raises if the (NumPy) images of `data`, Keras' `(x, y)` packing, are bad."""
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        check_pixels("Training images", images, self.pixel_range)

    # --- saving and export --------------------------------------------------------

    def save(self, filepath, overwrite=True, *, allow_non_finite=False, **kwargs):
        """`keras.Model.save`, atomic, refusing NaN or inf weights.

        The file appears whole or not at all (`kgen.saving.atomic_path`).
        Keras' convention for an existing file holds: `overwrite=True` (the
        default) replaces it, `overwrite=False` asks on a terminal; either way
        the old file stays whole until the new one is complete. Weights with
        NaN or inf are refused unless `allow_non_finite=True`.
        """
        if not allow_non_finite:
            check_finite_weights(self, "save")
        if not is_local_path(filepath) or (not overwrite and Path(filepath).exists()):
            # Remote paths; and Keras asks on a terminal, leaving the file
            # alone on "no".
            return super().save(filepath, overwrite=overwrite, **kwargs)
        with atomic_path(filepath) as partial:
            super().save(partial, overwrite=True, **kwargs)

    def save_weights(self, filepath, overwrite=True, *, allow_non_finite=False, **kw):
        """`keras.Model.save_weights`, atomic and refusing NaN or inf like `save`."""
        if not allow_non_finite:
            check_finite_weights(self, "save the weights of")
        if not is_local_path(filepath) or (not overwrite and Path(filepath).exists()):
            return super().save_weights(filepath, overwrite=overwrite, **kw)
        with atomic_path(filepath) as partial:
            super().save_weights(partial, overwrite=True, **kw)

    def export_endpoints(self) -> list:
        """`[(name, function, input_signature), ...]`; the first is the default.

        The functions name their arguments, which become the signature's.
        """
        return []

    def export_layers(self) -> list:
        """The layers whose variables `export_endpoints`' functions read.

        A JAX export tracks these (TensorFlow finds them by itself); e.g. a
        GAN's sampling generator, so its discriminator is not written.
        """
        return [self]

    def export_input_ranges(self) -> dict:
        """`{argument: (low, high)}`: served inputs that must lie in a range.

        The SavedModel checks them on every call and fails with an
        `InvalidArgumentError` naming the argument, for values outside the
        range and NaN; e.g. AdaIN's `{"alpha": (0.0, 1.0)}`.
        """
        return {}

    def export(
        self,
        filepath,
        format="tf_saved_model",
        verbose=None,
        *,
        endpoint: str | None = None,
        overwrite: bool = True,
        allow_non_finite: bool = False,
        opset_version: int | None = None,
        **kwargs,
    ):
        """Writes a SavedModel with this model's serving endpoints, or one
        endpoint as an ONNX file (`format="onnx"`).

        Works on every backend (under PyTorch through a TensorFlow child
        process). Reload a SavedModel with plain `tf.saved_model.load(filepath)`;
        no Keras or kgen import is needed to serve it. An ONNX file holds one
        endpoint, `endpoint` (default: the first, e.g. a VAE's `decode`; pass
        `endpoint="encode"` for its encoder), and runs in `onnxruntime`
        (see `kgen.export.export_onnx` for its input and output names).

        Prints one line saying where it wrote what, unless `verbose=False`.
        The export replaces what is at `filepath` only once it is complete;
        with `overwrite=False` an existing `filepath` raises
        `FileExistsError` instead. A model with NaN or inf weights is refused
        unless `allow_non_finite=True`. Other `format`s go to
        `keras.Model.export`, with `**kwargs`.

        Example:

        ```python
        dcgan.export("dcgan.onnx", format="onnx")
        session = onnxruntime.InferenceSession("dcgan.onnx")
        (images,) = session.run(None, {"z": z})  # z: (batch, latent_dim) float32
        ```
        """
        if not overwrite and Path(filepath).exists():
            raise FileExistsError(
                f"{filepath} already exists; pass overwrite=True to replace it"
            )
        if not allow_non_finite:
            check_finite_weights(self, "export")
        if format not in ("tf_saved_model", "onnx"):
            return super().export(filepath, format=format, verbose=verbose, **kwargs)
        if kwargs:
            raise ValueError(
                f"kgen models export their own signatures; unexpected arguments "
                f"{sorted(kwargs)}"
            )
        if format == "onnx":
            export_onnx(
                self, filepath, endpoint=endpoint, verbose=verbose, opset=opset_version
            )
            return
        if endpoint is not None or opset_version is not None:
            raise ValueError(
                "A SavedModel holds every endpoint; endpoint= and opset_version= "
                "are for format='onnx'"
            )
        if not self.export_endpoints():
            raise ValueError(
                f"{type(self).__name__} has no serving signatures to export"
            )
        export_saved_model(self, filepath, verbose=verbose)

    # --- config ---------------------------------------------------------------------

    @classmethod
    def from_config(cls, config):
        # Deserialising consumes nested dicts; keep the caller's config intact.
        config = copy.deepcopy(config)
        for key in cls.network_config_keys:
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
