"""Losses: adversarial objectives for the GANs, likelihood terms for the VAE,
and the feature-space terms of style transfer (Gram matrices, content, total
variation, feature statistics).

Each loss turns discriminator logits into the discriminator's and the
generator's objectives. A loss with `gradient_penalty_weight > 0` asks the model
to add the WGAN-GP penalty on interpolates between real and fake images; a loss
with `supports_label_smoothing` takes `label_smoothing=` in
`discriminator_loss` (one-sided: only the real targets move); a loss with
`pairs_real_and_fake` (the relativistic one) compares the i-th real image with
the i-th fake, and its `generator_loss` also takes the real images' logits.

Example:

```python
loss = kgen.losses.get("hinge")
d_loss = loss.discriminator_loss(real_logits, fake_logits)
g_loss = loss.generator_loss(fake_logits)
```
"""

import math

import keras
from keras import ops


class GANLoss:
    """Base class: subclasses define `discriminator_loss` and `generator_loss`."""

    gradient_penalty_weight = 0.0
    # Whether discriminator_loss takes label_smoothing= (cross-entropy losses).
    supports_label_smoothing = False
    # Whether generator_loss takes real_logits= too (relativistic losses).
    pairs_real_and_fake = False

    def discriminator_loss(self, real_logits, fake_logits):
        raise NotImplementedError

    def generator_loss(self, fake_logits):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()


@keras.saving.register_keras_serializable(package="kgen")
class NonSaturatingLoss(GANLoss):
    """The standard GAN loss with the non-saturating generator objective.

    D minimises `-log D(x) - log(1 - D(G(z)))`; G minimises `-log D(G(z))`
    (Goodfellow et al. 2014), written on logits for numerical stability.

    `discriminator_loss(..., label_smoothing=s)` is one-sided label smoothing
    (Salimans et al. 2016): the real images' target is `1 - s`, so D minimises
    `-(1 - s) log D(x) - s log(1 - D(x)) - log(1 - D(G(z)))`; fake targets
    stay 0.
    """

    supports_label_smoothing = True

    def discriminator_loss(self, real_logits, fake_logits, label_smoothing=0.0):
        if label_smoothing:
            real_loss = (1.0 - label_smoothing) * ops.softplus(
                -real_logits
            ) + label_smoothing * ops.softplus(real_logits)
            return ops.mean(real_loss) + ops.mean(ops.softplus(fake_logits))
        return ops.mean(ops.softplus(-real_logits)) + ops.mean(
            ops.softplus(fake_logits)
        )

    def generator_loss(self, fake_logits):
        return ops.mean(ops.softplus(-fake_logits))


@keras.saving.register_keras_serializable(package="kgen")
class MinimaxLoss(NonSaturatingLoss):
    """The original minimax objective: G maximises `log(1 - D(G(z)))`'s negative.

    Saturates early in training; kept for completeness and comparison.
    """

    def generator_loss(self, fake_logits):
        return -ops.mean(ops.softplus(fake_logits))


@keras.saving.register_keras_serializable(package="kgen")
class HingeLoss(GANLoss):
    """Hinge loss (Lim & Ye 2017; used by SN-GAN and BigGAN)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(
            ops.relu(1.0 + fake_logits)
        )

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)


@keras.saving.register_keras_serializable(package="kgen")
class LeastSquaresLoss(GANLoss):
    """Least-squares GAN loss (Mao et al. 2017) with targets 1 (real) and 0 (fake)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.5 * (
            ops.mean(ops.square(real_logits - 1.0)) + ops.mean(ops.square(fake_logits))
        )

    def generator_loss(self, fake_logits):
        return 0.5 * ops.mean(ops.square(fake_logits - 1.0))


@keras.saving.register_keras_serializable(package="kgen")
class WassersteinLoss(GANLoss):
    """Wasserstein loss with gradient penalty (WGAN-GP, Gulrajani et al. 2017).

    Args:
        gradient_penalty_weight: weight of `(||grad D(x_hat)|| - 1)^2` on random
            interpolates between real and fake images. 10 in the paper.
    """

    def __init__(self, gradient_penalty_weight: float = 10.0):
        if gradient_penalty_weight < 0:
            raise ValueError(
                f"gradient_penalty_weight must be >= 0, got {gradient_penalty_weight}"
            )
        self.gradient_penalty_weight = float(gradient_penalty_weight)

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(fake_logits) - ops.mean(real_logits)

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)

    def get_config(self) -> dict:
        return {"gradient_penalty_weight": self.gradient_penalty_weight}


@keras.saving.register_keras_serializable(package="kgen")
class RelativisticLoss(GANLoss):
    """The relativistic pairing loss (RpGAN; Jolicoeur-Martineau 2019, Sun et al. 2020).

    D minimises `softplus(D(G(z_i)) - D(x_i))` and G minimises
    `softplus(D(x_i) - D(G(z_i)))`, averaged over pairs of a real image `x_i`
    and a generated one: D learns how much more real each real image looks
    than its fake partner, rather than an absolute score. With the R1 and R2
    penalties (`compile(r1_weight=..., r2_weight=...)`) it is R3GAN's
    objective (Huang et al. 2024), which has no mode-dropping optimum and
    converges locally. Real and fake batches must be the same size (they are
    in kgen's training steps); the generator's update runs D on the real
    images too.

    Example:

    ```python
    loss = kgen.losses.get("relativistic")
    d_loss = loss.discriminator_loss(real_logits, fake_logits)
    g_loss = loss.generator_loss(fake_logits, real_logits=real_logits)
    ```
    """

    pairs_real_and_fake = True

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.softplus(fake_logits - real_logits))

    def generator_loss(self, fake_logits, real_logits=None):
        if real_logits is None:
            raise ValueError(
                "The relativistic loss compares each fake image with a real one; "
                "pass generator_loss(fake_logits, real_logits=...)."
            )
        return ops.mean(ops.softplus(real_logits - fake_logits))


_BY_NAME = {
    "non_saturating": NonSaturatingLoss,
    "minimax": MinimaxLoss,
    "hinge": HingeLoss,
    "least_squares": LeastSquaresLoss,
    "wasserstein": WassersteinLoss,
    "relativistic": RelativisticLoss,
}


def get(identifier) -> GANLoss:
    """Returns a `GANLoss` from a name (`"hinge"`, ...), a config or an instance."""
    if isinstance(identifier, GANLoss):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(
                f"Unknown GAN loss {identifier!r}; known losses: "
                f"{', '.join(sorted(_BY_NAME))}."
            )
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    raise ValueError(
        f"Expected a GAN loss name, config or instance, got {identifier!r}."
    )


def gradient_penalty(critic, real_images, fake_images, seed):
    """The WGAN-GP penalty `E[(||grad critic(x_hat)||_2 - 1)^2]`.

    `x_hat` are random interpolates between real and fake images, drawn with
    `seed` (a `keras.random.SeedGenerator`).
    """
    from kgen import backend

    batch_size = ops.shape(real_images)[0]
    alpha = backend.uniform((batch_size, 1, 1, 1), seed=seed)
    interpolates = real_images + alpha * (fake_images - real_images)
    grads = backend.input_gradient(lambda x: critic(x, training=True), interpolates)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(critic, real_images):
    """The R1 penalty `E[||grad critic(x)||_2^2]` on real images (Mescheder et al. 2018).

    Models add `r1_weight / 2` times it to the discriminator's loss; it pushes
    the critic's gradient towards zero on the data, which makes the
    Nash equilibrium locally stable. Differentiable in the critic's weights.
    The same on generated images is the R2 penalty (`r2_weight`).

    Example:

    ```python
    penalty = kgen.losses.r1_penalty(lambda x, training: critic(x), images)
    ```
    """
    return ops.mean(squared_gradient_norms(critic, real_images))


def squared_gradient_norms(critic, images):
    """`||grad critic(x)||_2^2` for each image `x`: a `(batch,)` tensor.

    The per-image terms of `r1_penalty`, differentiable in the critic's weights.

    Example:

    ```python
    norms = kgen.losses.squared_gradient_norms(lambda x, training: critic(x), images)
    ```
    """
    from kgen import backend

    grads = backend.input_gradient(lambda x: critic(x, training=True), images)
    axes = tuple(range(1, len(grads.shape)))
    return ops.sum(ops.square(grads), axis=axes)


def gaussian_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per example, summed over latents."""
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)


def _sum_per_example(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def bernoulli_log_likelihood(images, logits):
    """log p(x | logits) per example for images in [-1, 1] (pixel p = (x+1)/2).

    Exact for binarised images ({-1, 1}); for grey levels it is the usual
    cross-entropy surrogate.
    """
    targets = (images + 1.0) / 2.0
    return -_sum_per_example(
        targets * ops.softplus(-logits) + (1.0 - targets) * ops.softplus(logits)
    )


def gaussian_log_likelihood(images, mean, std):
    """log N(x; mean, std^2 I) per example, in nats."""
    z = (images - mean) / std
    return -_sum_per_example(
        0.5 * ops.square(z) + ops.log(std) + 0.5 * math.log(2.0 * math.pi)
    )


def standard_normal_log_density(z):
    """log N(z; 0, I) per example."""
    return -0.5 * ops.sum(ops.square(z) + math.log(2.0 * math.pi), axis=-1)


def normal_log_density(z, mean, log_var):
    """log N(z; mean, exp(log_var)) per example."""
    return -0.5 * ops.sum(
        ops.square(z - mean) / ops.exp(log_var) + log_var + math.log(2.0 * math.pi),
        axis=-1,
    )


def gram_matrix(features):
    """Channel correlations of `(batch, H, W, C)` features: `(batch, C, C)`.

    `G[c, d] = sum over positions of F[c] * F[d] / (H * W)`: normalised by the
    number of positions, so Gram matrices of different image sizes compare.
    """
    shape = ops.shape(features)
    flat = ops.reshape(features, (shape[0], -1, shape[-1]))
    positions = ops.cast(ops.shape(flat)[1], features.dtype)
    return ops.einsum("bnc,bnd->bcd", flat, flat) / positions


def style_loss(gram, target_gram):
    """Mean squared difference of Gram matrices, per example: `(batch,)`.

    With `gram_matrix`'s normalisation this is Gatys et al.'s E_l up to a
    constant factor.
    """
    return ops.mean(ops.square(gram - target_gram), axis=(1, 2))


def content_loss(features, target_features):
    """Mean squared difference of feature maps, per example: `(batch,)`."""
    return ops.mean(ops.square(features - target_features), axis=(1, 2, 3))


def total_variation_loss(images):
    """Mean absolute difference of neighbouring pixels, per example: `(batch,)`.

    A smoothness prior that suppresses high-frequency noise; averaged over
    pixels so that its weight does not depend on the image size.
    """
    down = ops.abs(images[:, 1:, :, :] - images[:, :-1, :, :])
    right = ops.abs(images[:, :, 1:, :] - images[:, :, :-1, :])
    return ops.mean(down, axis=(1, 2, 3)) + ops.mean(right, axis=(1, 2, 3))


def channel_statistics(features, epsilon=1e-5):
    """Per-channel mean and standard deviation over positions: two `(batch, 1, 1, C)`."""
    features = ops.convert_to_tensor(features)
    mean = ops.mean(features, axis=(1, 2), keepdims=True)
    variance = ops.mean(ops.square(features - mean), axis=(1, 2), keepdims=True)
    return mean, ops.sqrt(variance + epsilon)


def statistics_loss(features, target_features):
    """Squared distance of channel means plus of channel stds, per example.

    The style loss of adaptive instance normalisation (Huang & Belongie 2017),
    with means over channels instead of sums so its scale does not depend on
    the layer width.
    """
    mean, std = channel_statistics(features)
    target_mean, target_std = channel_statistics(target_features)
    return ops.mean(ops.square(mean - target_mean), axis=(1, 2, 3)) + ops.mean(
        ops.square(std - target_std), axis=(1, 2, 3)
    )
