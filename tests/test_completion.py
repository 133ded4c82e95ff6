import keras
import numpy as np
import pytest
from tiny_models import tiny_model

import kgen


def glyph_images(count, seed):
    images, _ = kgen.data.glyphs(count, seed=seed)
    return (images[..., None] / 127.5 - 1.0).astype("float32")


@pytest.fixture
def bottom_half_missing():
    mask = np.ones((28, 28, 1), "float32")
    mask[14:] = 0
    return mask


def test_vae_completion_keeps_known_pixels_and_improves_missing_ones(
    bottom_half_missing,
):
    vae = kgen.VAE(
        kgen.networks.mlp_encoder(latent_dim=8, hidden_units=(64,)),
        kgen.networks.mlp_decoder(latent_dim=8, hidden_units=(64,)),
        seed=0,
    )
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    vae.fit(glyph_images(1024, seed=0), batch_size=64, epochs=4, verbose=0)
    digits = glyph_images(16, seed=5)  # not seen in training
    start = kgen.complete(vae, digits, bottom_half_missing, steps=0)
    completed = kgen.complete(vae, digits, bottom_half_missing, steps=60)
    np.testing.assert_array_equal(completed[:, :14], digits[:, :14])  # bit-exact
    missing_error = [
        np.mean((x[:, 14:] - digits[:, 14:]) ** 2) for x in (start, completed)
    ]
    assert missing_error[1] < missing_error[0]
    # The model filled the hole with a digit-like stroke, not with background.
    assert completed[:, 14:].max() > 0.0


def test_gan_latent_search_fits_the_known_pixels(bottom_half_missing):
    gan = kgen.GAN(
        kgen.networks.mlp_generator(latent_dim=100), kgen.networks.mlp_discriminator()
    )
    digits = glyph_images(4, seed=5)
    errors = []
    for steps in (0, 40):
        z = kgen.completion.fit_latents(
            gan, digits, bottom_half_missing, steps=steps, seed=1
        )
        drawn = gan.generate(z=z)
        errors.append(np.mean((drawn[:, :14] - digits[:, :14]) ** 2))
    assert errors[1] < 0.9 * errors[0]
    completed = kgen.complete(gan, digits, bottom_half_missing, steps=5, seed=1)
    np.testing.assert_array_equal(completed[:, :14], digits[:, :14])


def test_conditional_gan_completion_takes_labels(bottom_half_missing):
    cgan = tiny_model("cgan", num_classes=10)
    digits = glyph_images(3, seed=5)
    completed = kgen.complete(
        cgan, digits, bottom_half_missing, labels=[1, 2, 3], steps=2
    )
    np.testing.assert_array_equal(completed[:, :14], digits[:, :14])


@pytest.mark.parametrize(
    "images, mask, match",
    [
        (np.zeros((2, 28, 28, 1)), np.ones((27, 28)), "does not match"),
        (np.zeros((2, 32, 32, 1)), np.ones((32, 32)), "must have shape"),
        (np.full((2, 28, 28, 1), 3.0), np.ones((28, 28)), "in \\[-1, 1\\]"),
        (np.zeros((2, 28, 28, 1)), np.full((28, 28), 0.5), "only 0 .missing. and 1"),
    ],
)
def test_bad_inputs_are_named(images, mask, match):
    gan = tiny_model("gan")
    with pytest.raises(ValueError, match=match):
        kgen.complete(gan, images, mask)
    with pytest.raises(ValueError, match="needs a kgen GAN"):
        kgen.complete(
            kgen.networks.mlp_generator(), np.zeros((1, 28, 28, 1)), np.ones((28, 28))
        )


@pytest.mark.parametrize(
    "missing, rows, cols",
    [("top", 0, None), ("bottom", 14, None), ("left", None, 0), ("right", None, 14)],
)
def test_half_mask_leaves_out_that_half(missing, rows, cols):
    mask = kgen.completion.half_mask((28, 28, 1), missing)
    expected = np.ones((28, 28, 1), "float32")
    if rows is not None:
        expected[rows : rows + 14] = 0
    else:
        expected[:, cols : cols + 14] = 0
    np.testing.assert_array_equal(mask, expected)
    with pytest.raises(ValueError, match="missing must be one of"):
        kgen.completion.half_mask((28, 28, 1), "middle")
