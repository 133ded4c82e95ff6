"""DiffAugment: what D sees is shifted and cut out, and GANs train through it."""

import keras
import numpy as np
import pytest
from tiny_models import tiny_model

from kgen.augmentation import DiffAugment


def shifted(image, dy, dx):
    """`image` moved down by dy and right by dx pixels, filled with -1."""
    out = np.full_like(image, -1.0)
    height, width = image.shape[:2]
    source = image[max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
    out[
        max(0, dy) : max(0, dy) + source.shape[0],
        max(0, dx) : max(0, dx) + source.shape[1],
    ] = source
    return out


def test_translation_shifts_each_image_by_whole_pixels():
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    views = keras.ops.convert_to_numpy(
        DiffAugment("translation")(images, keras.random.SeedGenerator(1))
    )
    shifts = []
    for image, view in zip(images, views, strict=True):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.allclose(shifted(image, dy, dx), view, atol=1e-3)
        ]
        assert len(matches) == 1  # limit: 16 * 0.125 = 2 pixels
        shifts.append(matches[0])
    assert len(set(shifts)) > 1  # per-image shifts


def test_cutout_blanks_one_square_per_image():
    images = np.ones((4, 16, 16, 1), "float32")
    views = keras.ops.convert_to_numpy(
        DiffAugment("cutout")(images, keras.random.SeedGenerator(2))
    )
    for view in views:
        rows, cols = np.nonzero(view[..., 0] == -1.0)
        assert 0 < len(rows) <= 8 * 8  # half the side, clipped at the border
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert len(rows) == height * width  # one rectangle
    assert np.all((views == 1.0) | (views == -1.0))


def test_gan_trains_through_the_augmentation_and_keeps_it_in_its_config(
    tiny_images, tmp_path
):
    model = tiny_model("dcgan")
    model.compile(augmentation="translation,cutout")
    history = model.fit(tiny_images, batch_size=16, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    # The generator learnt through the augmented views: its weights moved.
    before = tiny_model("dcgan").generator.get_weights()[0]
    assert not np.allclose(model.generator.get_weights()[0], before)
    model.save(tmp_path / "gan.keras")
    restored = keras.saving.load_model(tmp_path / "gan.keras")
    assert restored.augment.policy == "translation,cutout"


@pytest.mark.parametrize("policy", ["rotation", "", 3, "translation,,zoom"])
def test_unknown_policies_are_refused(policy):
    with pytest.raises(ValueError, match="augmentation=.*translation,cutout"):
        tiny_model("gan").compile(augmentation=policy)
