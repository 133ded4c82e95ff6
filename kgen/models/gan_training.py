"""What `kgen.GAN` is built and trained with, checked: networks, settings, EMA.

`GAN` documents the arguments. `check_networks` checks the two networks
against each other; `training_settings` checks `compile()`'s arguments and
returns what the training step reads, `network_optimizer` picks each
network's optimizer, `instance_noise_std` gives the step's noise level, and
`averaged_copy`/`update_average` keep the exponential moving average of the
generator (`GAN(ema=...)`), and `treats_examples_apart` says whether a
network may see the real and the generated images in one call.
"""

import keras
from keras import ops

from kgen import losses
from kgen.augmentation import DiffAugment
from kgen.backend import CONVOLUTIONS
from kgen.networks.validation import check_number, check_positive

# Layers whose output for one example does not depend on the batch's other
# examples, in training too. Batch normalisation is the one in kgen's builders
# that does not qualify; layers not named here count as not, and so do
# subclasses of these that Keras or kgen do not define (a user's own may mix
# examples).
_PER_EXAMPLE_LAYERS = (
    keras.layers.InputLayer,
    keras.layers.Dense,
    keras.layers.EinsumDense,
    *CONVOLUTIONS,
    keras.layers.Embedding,
    keras.layers.Activation,
    keras.layers.LeakyReLU,
    keras.layers.ReLU,
    keras.layers.ELU,
    keras.layers.PReLU,
    keras.layers.Softmax,
    keras.layers.Flatten,
    keras.layers.Reshape,
    keras.layers.Permute,
    keras.layers.Identity,
    keras.layers.Concatenate,
    keras.layers.Add,
    keras.layers.Subtract,
    keras.layers.Multiply,
    keras.layers.Average,
    keras.layers.Maximum,
    keras.layers.Minimum,
    keras.layers.Dot,
    keras.layers.Dropout,
    keras.layers.SpatialDropout2D,
    keras.layers.GaussianNoise,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
    keras.layers.UpSampling2D,
    keras.layers.ZeroPadding2D,
    keras.layers.Cropping2D,
    keras.layers.AveragePooling2D,
    keras.layers.MaxPooling2D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.SpectralNormalization,
)


def default_optimizer(learning_rate: float = 2e-4):
    """Adam(learning_rate, beta_1=0.5); 2e-4 is the DCGAN paper's setting."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.5)


def check_below(name, value, low, high=None):
    """A finite number with `low <= value` (and `value < high` when given), or raises."""
    return check_number(name, value, low, high, high_inclusive=False)


def network_optimizer(prefix, optimizer, learning_rate, default_learning_rate=2e-4):
    """The optimizer of one network from `{prefix}_optimizer`/`{prefix}_learning_rate`.

    Neither given: `default_optimizer(default_learning_rate)`.
    """
    if learning_rate is None:
        return keras.optimizers.get(
            optimizer or default_optimizer(default_learning_rate)
        )
    if optimizer is not None:
        raise ValueError(
            f"Pass {prefix}_optimizer or {prefix}_learning_rate, not both; set "
            f"the learning rate on the optimizer instead"
        )
    learning_rate = check_below(f"{prefix}_learning_rate", learning_rate, 0.0)
    return default_optimizer(learning_rate)


def check_networks(gan, generator, discriminator, latent_dim):
    """Raises unless `gan` (a `GAN` being built) can train the two networks.

    Returns `(latent_dim, image_shape)`: `latent_dim` defaults to the
    generator's input size.
    """
    for role, network in (("generator", generator), ("discriminator", discriminator)):
        if not isinstance(network, keras.Model):
            raise ValueError(f"{role} must be a keras.Model, got {network!r}")
        if len(network.inputs) != gan.network_inputs:
            raise ValueError(
                f"The {role} of a {type(gan).__name__} takes "
                f"{gan.network_inputs} input(s), got {len(network.inputs)}; "
                + (
                    "build it with num_classes="
                    if gan.network_inputs == 2
                    else "networks built with num_classes= belong in "
                    "kgen.ConditionalGAN"
                )
            )
    generator_latent_dim = generator.inputs[0].shape[-1]
    if latent_dim is None:
        latent_dim = generator_latent_dim
    check_positive("latent_dim", latent_dim)
    if generator_latent_dim != latent_dim:
        raise ValueError(
            f"latent_dim={latent_dim} but the generator takes inputs of size "
            f"{generator_latent_dim}"
        )
    image_shape = tuple(generator.outputs[0].shape[1:])
    if tuple(discriminator.inputs[0].shape[1:]) != image_shape:
        raise ValueError(
            f"The generator makes images of shape {image_shape} but the "
            f"discriminator takes {tuple(discriminator.inputs[0].shape[1:])}"
        )
    return latent_dim, image_shape


def training_settings(
    *,
    d_optimizer,
    g_optimizer,
    d_learning_rate,
    g_learning_rate,
    loss,
    discriminator_steps,
    r1_weight,
    r2_weight,
    r1_subsample,
    label_smoothing,
    instance_noise,
    instance_noise_decay_steps,
    augmentation,
    keras_arguments,
    default_learning_rate=2e-4,
    default_loss="non_saturating",
    default_r1_weight=0.0,
    default_r2_weight=0.0,
) -> dict:
    """Checks `GAN.compile()`'s arguments; returns the attributes it sets.

    Optimizers left unset are Adam with `default_learning_rate`; `loss=None`
    is `default_loss`, `r1_weight=None` is `default_r1_weight` and
    `r2_weight=None` is `default_r2_weight`.
    `keras_arguments` are the ones meant for `keras.Model.compile`, which
    must not set the optimizer, loss or metrics a GAN makes itself.
    """
    d_optimizer = network_optimizer(
        "d", d_optimizer, d_learning_rate, default_learning_rate
    )
    g_optimizer = network_optimizer(
        "g", g_optimizer, g_learning_rate, default_learning_rate
    )
    if d_optimizer is g_optimizer:
        raise ValueError(
            "d_optimizer and g_optimizer must be two optimizer instances; "
            "one instance would mix the two networks' moment estimates"
        )
    check_positive("discriminator_steps", discriminator_steps)
    for key in ("optimizer", "loss", "metrics"):
        if key in keras_arguments:
            raise ValueError(
                f"GAN.compile() takes d_optimizer, g_optimizer and loss, not {key}="
            )
    adversarial_loss = losses.get(default_loss if loss is None else loss)
    if r1_weight is None:
        r1_weight = default_r1_weight
    r1_weight = check_below("r1_weight", r1_weight, 0.0)
    if r2_weight is None:
        r2_weight = default_r2_weight
    r2_weight = check_below("r2_weight", r2_weight, 0.0)
    check_positive("r1_subsample", r1_subsample)
    label_smoothing = check_below("label_smoothing", label_smoothing, 0.0, 1.0)
    instance_noise = check_below("instance_noise", instance_noise, 0.0)
    if label_smoothing and not adversarial_loss.supports_label_smoothing:
        raise ValueError(
            f"label_smoothing applies to the cross-entropy losses "
            f"(non_saturating, minimax), not {type(adversarial_loss).__name__}"
        )
    if instance_noise_decay_steps is not None:
        check_positive("instance_noise_decay_steps", instance_noise_decay_steps)
        if not instance_noise:
            raise ValueError("instance_noise_decay_steps needs instance_noise > 0")
    return {
        "adversarial_loss": adversarial_loss,
        "augment": None if augmentation is None else DiffAugment(augmentation),
        "d_optimizer": d_optimizer,
        "g_optimizer": g_optimizer,
        "discriminator_steps": discriminator_steps,
        "r1_weight": r1_weight,
        "r2_weight": r2_weight,
        "r1_subsample": r1_subsample,
        "label_smoothing": label_smoothing,
        "instance_noise": instance_noise,
        "instance_noise_decay_steps": instance_noise_decay_steps,
    }


def loss_scale_factor(dtype_policy, factor):
    """The static loss scale of a GAN's updates: `factor`, or the policy's default."""
    if factor is not None:
        return check_below("loss_scale_factor", factor, 1.0)
    # bfloat16 has float32's exponent range and needs no scaling.
    return 2.0**10 if dtype_policy.name == "mixed_float16" else None


def instance_noise_std(instance_noise, decay_steps, step):
    """The instance-noise std at training `step` (a float or scalar tensor), or None.

    `instance_noise`, falling linearly to 0 over `decay_steps` if given.
    """
    if not instance_noise:
        return None
    if decay_steps is None:
        return instance_noise
    step = ops.cast(step, "float32")
    return instance_noise * ops.maximum(0.0, 1.0 - step / decay_steps)


# The packages whose subclasses of the layers above are trusted.
_KNOWN = ("keras", "kgen")


def treats_examples_apart(layer) -> bool:
    """Whether `layer` (a network) computes each example on its own.

    Then one call on a batch of real and generated images gives each image the
    logit two calls would (up to the random draws of dropout-like layers), so
    a GAN's discriminator step runs D once on both halves: fewer, larger
    operations, and one double backward pass for R1 and R2 instead of two.
    Batch normalisation mixes the examples of a batch, so a discriminator with
    it (or with any layer not known to be per-example) is called per half.
    """
    # A model of one's own may do anything in its call(); a functional or
    # Sequential one is its layers.
    if type(layer).__module__.split(".")[0] not in _KNOWN:
        return False
    if isinstance(layer, keras.Model):
        return all(treats_examples_apart(sublayer) for sublayer in layer.layers)
    if not isinstance(layer, _PER_EXAMPLE_LAYERS):
        return False
    # A wrapper (spectral normalisation) is as per-example as its layer.
    inner = getattr(layer, "layer", None)
    return inner is None or treats_examples_apart(inner)


def averaged_copy(generator):
    """A frozen clone of `generator` with the same weights: the EMA generator."""
    try:
        copy = keras.models.clone_model(generator)
    except Exception as error:
        raise ValueError(
            "ema= needs a generator that keras.models.clone_model can copy "
            "(a functional or Sequential model, or one with get_config); "
            f"cloning {generator.name!r} failed: {error}"
        ) from error
    copy.set_weights(generator.get_weights())
    # Frozen, so that neither optimizer touches it; its weights are still
    # model state (saved, restored, carried through JAX's stateless step).
    copy.trainable = False
    return copy


def update_average(average_network, network, ema, updates):
    """One EMA update of `average_network` towards `network` after `updates` steps.

    `updates` is the generator's update count, this one included (t + 1 for
    the t-th, from 0), so the warm-up decay `(1 + t) / (10 + t)` is
    `updates / (updates + 9)`. Non-trainable weights are copied.
    """
    updates = ops.cast(updates, "float32")
    decay = ops.minimum(ema, updates / (updates + 9.0))
    for average, live in zip(average_network.weights, network.weights, strict=True):
        value = ops.stop_gradient(live.value)
        if live.trainable:
            value = decay * average.value + (1.0 - decay) * value
        average.assign(value)
