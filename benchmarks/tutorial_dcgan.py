"""The peer that users copy: TensorFlow's DCGAN tutorial, trained by a plain loop.

The networks of the TensorFlow DCGAN tutorial (tensorflow.org/tutorials/
generative/dcgan): a generator of 5x5 transposed convolutions (7x7x256 seed,
128, 64, 1 filters, batch norm and LeakyReLU, tanh), and a discriminator of two
5x5 stride-2 convolutions (64, 128) with LeakyReLU and dropout 0.3, no batch
norm. Trained as users write it: `tf.GradientTape` and a `tf.function` step,
the non-saturating cross-entropy on logits, `Adam(2e-4, beta_1=0.5)` for each
network (the tutorial itself uses 1e-4 and batch 256; the kgen issue that set
up this comparison fixed 2e-4, beta_1 0.5 and batch 64, the DCGAN paper's).

Needs the TensorFlow backend. `generate(num_samples, seed=)` matches kgen's,
so `kgen.metrics.SampleQuality.score_model` scores it like a kgen model.
"""

import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

LATENT_DIM = 100
BATCH_SIZE = 64


def generator() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            layers.Dense(7 * 7 * 256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(
                1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
            ),
        ],
        name="tutorial_generator",
    )


def discriminator() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ],
        name="tutorial_discriminator",
    )


class TutorialDCGAN:
    """The tutorial's networks and training loop, with kgen's `generate()`.

    Example:

    ```python
    peer = TutorialDCGAN(seed=0)
    peer.train(dataset.repeat(), seconds=60)   # or images=64_000
    images = peer.generate(1000, seed=0)        # float32 in [-1, 1]
    ```
    """

    def __init__(self, seed: int = 0):
        keras.utils.set_random_seed(seed)
        self.generator = generator()
        self.discriminator = discriminator()
        self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.steps = 0

    @tf.function
    def train_step(self, images):
        noise = tf.random.normal([tf.shape(images)[0], LATENT_DIM])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fakes = self.generator(noise, training=True)
            real_logits = self.discriminator(images, training=True)
            fake_logits = self.discriminator(fakes, training=True)
            g_loss = self.cross_entropy(tf.ones_like(fake_logits), fake_logits)
            d_loss = self.cross_entropy(
                tf.ones_like(real_logits), real_logits
            ) + self.cross_entropy(tf.zeros_like(fake_logits), fake_logits)
        g_variables = self.generator.trainable_variables
        d_variables = self.discriminator.trainable_variables
        self.g_optimizer.apply_gradients(
            zip(g_tape.gradient(g_loss, g_variables), g_variables, strict=True)
        )
        self.d_optimizer.apply_gradients(
            zip(d_tape.gradient(d_loss, d_variables), d_variables, strict=True)
        )
        return d_loss, g_loss

    def train(self, batches, *, seconds=None, images=None) -> int:
        """Trains on `batches` (an endless dataset) for `seconds` or `images`.

        Returns the number of steps taken. The clock counts from the first
        step, tracing included, as `fit`'s does for kgen.
        """
        if (seconds is None) == (images is None):
            raise ValueError("Give exactly one of seconds= and images=")
        start, seen, steps = time.perf_counter(), 0, 0
        for batch in batches:
            loss = self.train_step(batch)
            seen += int(batch.shape[0])
            steps += 1
            if images is not None and seen >= images:
                break
            if seconds is not None and time.perf_counter() - start >= seconds:
                break
        float(loss[0])  # waits for the last step
        self.steps += steps
        return steps

    def generate(self, num_samples, *, seed=0, batch_size=256):
        z = np.random.default_rng(seed).standard_normal((num_samples, LATENT_DIM))
        z = z.astype("float32")
        return np.concatenate(
            [
                self.generator(z[i : i + batch_size], training=False).numpy()
                for i in range(0, num_samples, batch_size)
            ]
        )
