"""Differentiable augmentation of the images a GAN's discriminator sees.

DiffAugment (Zhao et al. 2020): the same random transformations are applied
to real and to generated images before the discriminator, in its update and
in the generator's, and they are differentiable, so the generator learns
through them. The discriminator then cannot memorise a small training set,
while what the generator is pushed towards is still the un-augmented data
(the transformations are applied to both sides). It is what lets a GAN keep
improving on a few thousand images.

Written in `keras.ops` only, so every backend runs it inside its compiled step.

```python
augment = kgen.augmentation.DiffAugment("translation,cutout")
seed = keras.random.SeedGenerator(0)
views = augment(images, seed)  # same shape, each image shifted and cut out
```
"""

from keras import ops

from kgen import backend

POLICIES = ("translation", "cutout", "brightness", "contrast")


class DiffAugment:
    """A differentiable augmentation policy, e.g. `"translation,cutout"`.

    Args:
        policy: comma-separated transformations, applied in this order:
            - `translation`: shift each image by up to `translation_ratio` of
              its height and width (whole pixels), filling with -1 (black);
            - `cutout`: set a square of `cutout_ratio` of the image to -1;
            - `brightness`: add a random offset in [-0.5, 0.5];
            - `contrast`: scale the deviation from each image's mean by a
              random factor in [0.5, 1.5].
        translation_ratio: largest shift, as a fraction of the image size
            (DiffAugment's 1/8).
        cutout_ratio: side of the cut-out square, as a fraction of the image
            size (DiffAugment's 1/2).
    """

    def __init__(
        self,
        policy: str = "translation,cutout",
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ):
        if not isinstance(policy, str):
            raise ValueError(
                f"augmentation={policy!r} is not a policy; pass a string such "
                f"as 'translation,cutout'"
            )
        names = [name.strip() for name in policy.split(",") if name.strip()]
        unknown = [name for name in names if name not in POLICIES]
        if not names or unknown:
            raise ValueError(
                f"augmentation={policy!r} is not a policy; use a comma-separated "
                f"list of {', '.join(POLICIES)}, e.g. 'translation,cutout'"
            )
        for name, ratio in (
            ("translation_ratio", translation_ratio),
            ("cutout_ratio", cutout_ratio),
        ):
            if not 0.0 < ratio <= 1.0:  # also rejects NaN
                raise ValueError(f"{name} must be in (0, 1], got {ratio!r}")
        self.policy = ",".join(names)
        self.names = names
        self.translation_ratio = translation_ratio
        self.cutout_ratio = cutout_ratio

    def __call__(self, images, seed):
        """Augments a batch `(batch, height, width, channels)` of images in [-1, 1]."""
        images = ops.convert_to_tensor(images)
        for name in self.names:
            images = getattr(self, f"_{name}")(images, seed)
        return images

    def _translation(self, images, seed):
        batch = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        # Shifting by matrix products keeps the shift differentiable in the
        # image and needs no per-backend gather: rows move by dy, columns by dx.
        dtype = images.dtype
        rows = ops.cast(
            _shift_matrices(batch, height, self.translation_ratio, seed), dtype
        )
        columns = ops.cast(
            _shift_matrices(batch, width, self.translation_ratio, seed), dtype
        )
        # Shift [0, 2] images so that vacated pixels become 0, i.e. -1 after.
        shifted = ops.einsum("bij,bjwc->biwc", rows, images + 1.0)
        shifted = ops.einsum("bkw,biwc->bikc", columns, shifted)
        return shifted - 1.0

    def _cutout(self, images, seed):
        batch = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        half_height = int(height * self.cutout_ratio + 0.5) // 2
        half_width = int(width * self.cutout_ratio + 0.5) // 2
        centre = backend.uniform((batch, 2), seed=seed)
        centre_y = ops.floor(centre[:, 0] * height)[:, None, None]
        centre_x = ops.floor(centre[:, 1] * width)[:, None, None]
        y = ops.arange(height, dtype="float32")[None, :, None]
        x = ops.arange(width, dtype="float32")[None, None, :]
        inside = ops.logical_and(
            ops.abs(y - centre_y) < half_height, ops.abs(x - centre_x) < half_width
        )
        keep = ops.cast(ops.logical_not(inside), images.dtype)[..., None]
        return (images + 1.0) * keep - 1.0

    def _brightness(self, images, seed):
        offset = backend.uniform((ops.shape(images)[0], 1, 1, 1), seed=seed) - 0.5
        return images + ops.cast(offset, images.dtype)

    def _contrast(self, images, seed):
        factor = backend.uniform((ops.shape(images)[0], 1, 1, 1), seed=seed) + 0.5
        mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
        return (images - mean) * ops.cast(factor, images.dtype) + mean

    def get_config(self):
        return {
            "policy": self.policy,
            "translation_ratio": self.translation_ratio,
            "cutout_ratio": self.cutout_ratio,
        }


def _shift_matrices(batch, size, ratio, seed):
    """`(batch, size, size)` boolean matrices that shift a vector by a random offset.

    Row i of matrix b picks element `i - shift_b`, for a whole-pixel shift
    drawn uniformly from `[-size * ratio, size * ratio]`; rows that would read
    outside the vector are zero.
    """
    limit = int(size * ratio + 0.5)
    draw = backend.uniform((batch, 1, 1), seed=seed)
    shift = ops.floor(draw * (2 * limit + 1)) - limit
    out_index = ops.arange(size, dtype="float32")[None, :, None]
    in_index = ops.arange(size, dtype="float32")[None, None, :]
    return ops.equal(in_index, out_index - shift)
