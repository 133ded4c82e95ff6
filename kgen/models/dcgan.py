"""`DCGAN`: a `GAN` whose convolutional networks are built from hyperparameters."""

import keras

from kgen.models.gan import GAN
from kgen.networks.dcgan import dcgan_discriminator, dcgan_generator
from kgen.networks.validation import check_positive


@keras.saving.register_keras_serializable(package="kgen")
class DCGAN(GAN):
    """Deep convolutional GAN (Radford et al. 2016), trained like `kgen.GAN`.

    Args:
        image_shape: `(height, width, channels)`, e.g. `(28, 28, 1)`,
            `(32, 32, 3)` or `(64, 64, 3)`.
        latent_dim: size of the latent vectors.
        base_filters: filters of the discriminator's widest-resolution
            convolution; the others double towards the logit.
        generator_filters: filters of the generator's widest-resolution
            transposed convolution; the others double towards the seed.
            Default `base_filters`, the DCGAN paper's mirror image. Twice
            that learnt a little more per image but less per second, which
            lost at equal time on a CPU (README, DCGAN table).
        normalization: discriminator normalisation, `"none"` (default; the
            R1 penalty below regularises D instead), `"batch"` (the DCGAN
            paper's), or `"layer"` (use with the Wasserstein loss).
        seed: seed of the noise drawn during training.
        spectral_normalization: spectrally normalise the discriminator's
            convolutions and logit layer (SN-GAN); usually with
            `normalization="none"`.
        ema: decay of the generator's weight average used for sampling, or
            `None`; see `kgen.GAN`. On by default: with it, the faster
            learning rate below learns more per image (see the README's
            DCGAN table).
        kernel_size: kernel size of every (transposed) convolution.
        dropout: dropout rate after the discriminator's activations.
        coarse_convolutions: stride-1 3x3 convolutions the discriminator
            adds at its coarsest resolution (7x7 for 28x28 images), before
            its logit. Default 1: on a 2-core CPU the extra depth in D cost
            0.72x the images per second, yet lowered the kgen FID after
            190 s of training from ~15 to 11-12 and matched 0 from 380 s
            on (README, DCGAN tables); 0 is the DCGAN paper's discriminator.

    `compile()` defaults to `Adam(1e-3, beta_1=0.5)` for both networks, five
    times the paper's 2e-4: with the generator's average (`ema`), it reached
    a kgen FID of ~24 after 96,000 digits where 2e-4 reached ~30 (the
    README's DCGAN table); pass `d_learning_rate`/`g_learning_rate` for
    others. It also adds the R1 penalty (`r1_weight=1.0`, Mescheder et al.
    2018) to the discriminator's loss, which replaces the paper's batch norm
    in D: after 760 s of training on a CPU it lowered the kgen FID from 15.6
    to 10.6 (README). And the same penalty on the generated images (R2,
    `r2_weight=1.0`): on randomly held-out digits it lowered the kgen FID
    after 760 s from 6.2 to 3.2, where real digits score 2.4 (README).
    `compile(r1_weight=0, r2_weight=0)` with
    `DCGAN(normalization="batch", coarse_convolutions=0)` is the paper's
    discriminator.

    Example:

    ```python
    gan = kgen.DCGAN(image_shape=(28, 28, 1), latent_dim=100)
    gan.compile()
    gan.fit(kgen.data.load("glyphs", batch_size=128), epochs=5)
    images = gan.generate(64, seed=0)

    sn_gan = kgen.DCGAN(
        normalization="none", spectral_normalization=True, ema=0.999
    )
    sn_gan.compile(loss="hinge", d_learning_rate=4e-4, g_learning_rate=1e-4)
    ```
    """

    def __init__(
        self,
        image_shape: tuple = (28, 28, 1),
        latent_dim: int = 100,
        base_filters: int = 64,
        generator_filters: int | None = None,
        normalization: str = "none",
        seed: int | None = None,
        spectral_normalization: bool = False,
        ema: float | None = 0.999,
        kernel_size: int = 4,
        dropout: float = 0.0,
        coarse_convolutions: int = 1,
        **kwargs,
    ):
        if generator_filters is None:
            generator_filters = base_filters
        check_positive("generator_filters", generator_filters)
        super().__init__(
            generator=dcgan_generator(
                latent_dim, image_shape, generator_filters, kernel_size=kernel_size
            ),
            discriminator=dcgan_discriminator(
                image_shape,
                base_filters,
                normalization=normalization,
                spectral_normalization=spectral_normalization,
                kernel_size=kernel_size,
                dropout=dropout,
                coarse_convolutions=coarse_convolutions,
            ),
            latent_dim=latent_dim,
            seed=seed,
            ema=ema,
            **kwargs,
        )
        self.base_filters = base_filters
        self.generator_filters = generator_filters
        self.normalization = normalization
        self.spectral_normalization = spectral_normalization
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.coarse_convolutions = coarse_convolutions

    def get_config(self):
        config = super().get_config()
        del config["generator"], config["discriminator"]
        config.update(
            image_shape=self.image_shape,
            base_filters=self.base_filters,
            generator_filters=self.generator_filters,
            normalization=self.normalization,
            spectral_normalization=self.spectral_normalization,
            kernel_size=self.kernel_size,
            dropout=self.dropout,
            coarse_convolutions=self.coarse_convolutions,
        )
        return config

    @classmethod
    def from_config(cls, config):
        # Files saved before `coarse_convolutions` existed had none.
        return super().from_config({"coarse_convolutions": 0, **config})

    # The networks are rebuilt from the hyperparameters, not deserialised.
    network_config_keys = ()
    # Chosen by benchmarks/quality.py, with ema=0.999 (see the class docstring).
    default_learning_rate = 1e-3
    # Chosen by benchmarks/quality.py with normalization="none": 0.3 to 10
    # scored alike, 1 is the middle of that plateau.
    default_r1_weight = 1.0
    # The same gamma on the fakes (R2) halved the kgen FID after 760 s (README).
    default_r2_weight = 1.0
