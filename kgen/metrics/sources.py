"""Where the images of an evaluation come from: folders, arrays, models, statistics.

`image_source(value)` turns what users have into an `ImageSource`, which
yields float32 batches in [-1, 1] without holding the whole set, or into
`FeatureStatistics` (reference statistics, which need no images):

- a folder of images (`.png`, `.jpg`, ... in any subfolder), read one batch
  at a time and resized to the evaluation's image shape (PIL bicubic);
- a `.npy` file (memory-mapped) or a `.npz` file whose one array, or
  `images`, holds `(N, H, W[, C])` images: uint8 in [0, 255] or floats in
  [-1, 1] (members are streamed from the zip, not loaded whole);
- a `.keras` file or a SavedModel directory of a kgen generative model, or
  such a model object, which draws `num_samples` images;
- reference statistics: a `.npz` with `mu` and `sigma` (pytorch-fid and
  clean-fid), or one written by `FeatureStatistics.save`;
- a NumPy array of images, or `FeatureStatistics`.
"""

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
from keras import ops
from PIL import Image

from kgen.metrics.feature_statistics import FeatureStatistics

ARRAY_KEYS = ("images", "arr_0", "x")
SOURCE_KINDS = (
    "an image folder, a .npy/.npz array file, a .keras model, a SavedModel "
    "directory or a statistics .npz"
)


class ImageSource:
    """Images that arrive in batches: `batches(batch_size)` yields `(images, labels)`.

    `images` are float32 `(n, *image_shape)` in [-1, 1]; `labels` are the
    classes a conditional model drew them for, else None. `count` is the
    number of images in all.
    """

    description: str = "images"
    count: int = 0
    image_shape: tuple[int, int, int] | None = None

    def conform(self, image_shape: tuple[int, int, int]) -> None:
        """Makes the source yield `image_shape` images, or raises."""
        if tuple(self.image_shape) != tuple(image_shape):
            raise ValueError(
                f"{self.description} holds images of shape {self.image_shape}; "
                f"the evaluation needs {tuple(image_shape)}"
            )

    def limit(self, count: int) -> None:
        """Keeps the first `count` images only."""
        self.count = min(self.count, int(count))

    def batches(
        self, batch_size: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        raise NotImplementedError


class ArraySource(ImageSource):
    """Images of an array: in memory, memory-mapped, or read from a stream.

    `raw_batches(batch_size)` yields the stored rows, `batch_size` at a time.
    """

    def __init__(self, raw_batches, shape, dtype, description: str):
        dtype = np.dtype(dtype)
        if len(shape) == 3:
            shape = (*shape, 1)
        if len(shape) != 4 or shape[-1] not in (1, 3) or shape[0] < 2:
            raise ValueError(
                f"{description} must hold images of shape (N, height, width) or "
                f"(N, height, width, 1 or 3) with N >= 2, got {tuple(shape)}"
            )
        if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
            raise ValueError(
                f"{description} must hold uint8 images in [0, 255] or floats in "
                f"[-1, 1], got dtype {dtype}"
            )
        self.raw_batches = raw_batches
        self.dtype = dtype
        self.count = int(shape[0])
        self.image_shape = tuple(int(size) for size in shape[1:])
        self.description = description

    @classmethod
    def of_array(cls, array, description: str = "The image array") -> "ArraySource":
        def raw_batches(batch_size):
            for start in range(0, len(array), batch_size):
                yield array[start : start + batch_size]

        return cls(raw_batches, array.shape, array.dtype, description)

    def batches(self, batch_size):
        remaining = self.count
        for rows in self.raw_batches(batch_size):
            if remaining <= 0:
                break
            images = np.asarray(rows[:remaining], dtype=np.float32)
            remaining -= len(images)
            images = images.reshape(len(images), *self.image_shape)
            if self.dtype == np.uint8:
                images = images / 127.5 - 1.0
            elif not np.all(np.isfinite(images)):
                raise ValueError(f"{self.description} holds NaN or infinite values")
            elif images.min() < -1.01 or images.max() > 1.01:
                raise ValueError(
                    f"{self.description} holds floats from {images.min():.3g} to "
                    f"{images.max():.3g}; float images must be in [-1, 1] (store "
                    "[0, 255] images as uint8)"
                )
            yield images, None


class FolderSource(ImageSource):
    """The image files of a folder and its subfolders, decoded a batch at a time."""

    def __init__(self, folder: Path):
        from kgen.data import image_files

        self.files = image_files(folder)
        self.description = f"The folder '{folder}'"
        if len(self.files) < 2:
            raise ValueError(
                f"{self.description} holds {len(self.files)} image(s); at least 2 are needed"
            )
        with _open_image(self.files[0]) as first:
            channels = 1 if first.mode in ("1", "L", "I", "I;16", "F") else 3
            self.image_shape = (first.height, first.width, channels)
        self.count = len(self.files)

    def conform(self, image_shape):
        self.image_shape = tuple(image_shape)

    def limit(self, count):
        self.files = self.files[: int(count)]
        self.count = len(self.files)

    def batches(self, batch_size):
        height, width, channels = self.image_shape
        mode = "L" if channels == 1 else "RGB"
        for start in range(0, self.count, batch_size):
            batch = []
            for file in self.files[start : start + batch_size]:
                with _open_image(file) as image:
                    image = image.convert(mode)
                    if image.size != (width, height):
                        image = image.resize((width, height), Image.BICUBIC)
                    batch.append(np.asarray(image, dtype=np.uint8))
            pixels = np.stack(batch).reshape(len(batch), height, width, channels)
            yield pixels.astype(np.float32) / 127.5 - 1.0, None


class GeneratorSource(ImageSource):
    """`count` images drawn by a generative model from latent vectors of `seed`.

    A conditional model draws `labels` (repeated to `count`), by default its
    classes in turn: 0, 1, ..., 0, 1, ...
    """

    def __init__(self, model, count: int, *, labels=None, seed: int = 0):
        from kgen.loading import Generator, load_generator

        if isinstance(model, (str, os.PathLike)):
            self.description = f"The model '{model}'"
            self.generator = load_generator(model)
        elif hasattr(model, "generate") and hasattr(model, "latent_dim"):
            self.description = f"The model {model.name!r}"
            num_classes = getattr(model, "num_classes", None)
            self.generator = Generator(
                latent_dim=model.latent_dim,
                image_shape=tuple(model.image_shape),
                conditional=num_classes is not None,
                num_classes=num_classes,
                draw=lambda z, labels: model.generate(z=z, labels=labels),
            )
        else:
            raise ValueError(
                f"{model!r} is not a kgen generative model (no generate())"
            )
        if not isinstance(count, (int, np.integer)) or count < 2:
            raise ValueError(f"num_samples must be an integer >= 2, got {count!r}")
        self.count = int(count)
        self.seed = seed
        self.image_shape = tuple(self.generator.image_shape)
        self.labels = self._labels(labels)

    def _labels(self, labels):
        generator = self.generator
        if not generator.conditional:
            if labels is not None:
                raise ValueError(
                    f"{self.description} is unconditional: labels need a "
                    "conditional model"
                )
            return None
        if labels is None:
            if generator.num_classes is None:
                raise ValueError(
                    f"{self.description} is conditional but does not record its "
                    "number of classes: pass labels, e.g. 0 to 9"
                )
            labels = np.arange(generator.num_classes)
        labels = np.resize(np.asarray(labels, dtype="int32"), self.count)
        limit = generator.num_classes
        if labels.min() < 0 or (limit is not None and labels.max() >= limit):
            raise ValueError(
                f"labels must be classes 0 to {limit - 1 if limit else 'N'}, got "
                f"{sorted(set(labels.tolist()))}"
            )
        return labels

    def batches(self, batch_size):
        from kgen.models.generative_model import latent_vectors

        z = ops.convert_to_numpy(
            latent_vectors(self.generator.latent_dim, self.count, seed=self.seed)
        )
        for start in range(0, self.count, batch_size):
            part = slice(start, start + batch_size)
            labels = None if self.labels is None else self.labels[part]
            images = ops.convert_to_numpy(self.generator.draw(z[part], labels))
            yield np.asarray(images, dtype=np.float32), labels


def image_source(
    value, *, num_samples: int = 10000, labels=None, seed: int = 0
) -> ImageSource | FeatureStatistics:
    """An `ImageSource`, or `FeatureStatistics`, for one side of an evaluation.

    `value` is any of the kinds this module's docstring lists. `num_samples`,
    `labels` and `seed` are used by generative models only.

    Example:

    ```python
    source = kgen.metrics.image_source("samples/")  # a folder of PNGs
    for images, _ in source.batches(256):
        ...
    ```
    """
    if isinstance(value, (FeatureStatistics, ImageSource)):
        return value
    if isinstance(value, keras.Model):
        return GeneratorSource(value, num_samples, labels=labels, seed=seed)
    if isinstance(value, np.ndarray):
        return ArraySource.of_array(value)
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"Cannot evaluate {type(value).__name__}: pass {SOURCE_KINDS}")
    path = Path(value)
    if not path.exists():
        raise FileNotFoundError(
            f"No such image folder, array file, model or statistics file: '{path}'"
        )
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return GeneratorSource(path, num_samples, labels=labels, seed=seed)
        return FolderSource(path)
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return GeneratorSource(path, num_samples, labels=labels, seed=seed)
    if suffix == ".npy":
        return _npy_source(path)
    if suffix == ".npz":
        return _npz_source(path)
    raise ValueError(f"'{path}' is not {SOURCE_KINDS}")


def _npy_source(path):
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        raise ValueError(f"'{path}' is not a readable .npy array ({error})") from None
    return ArraySource.of_array(array, f"The array file '{path}'")


def _npz_source(path):
    try:
        with zipfile.ZipFile(path) as archive:
            keys = [name[:-4] for name in archive.namelist() if name.endswith(".npy")]
    except (OSError, zipfile.BadZipFile) as error:
        raise ValueError(f"'{path}' is not a readable .npz file ({error})") from None
    if {"mu", "sigma"} <= set(keys) or {"mean", "covariance"} <= set(keys):
        return FeatureStatistics.load_npz(path)
    key = next(
        (k for k in ARRAY_KEYS if k in keys), keys[0] if len(keys) == 1 else None
    )
    if key is None:
        raise ValueError(
            f"'{path}' holds the arrays {keys}; name the images 'images', or store "
            "mu and sigma for reference statistics"
        )
    return _npz_member_source(path, key)


def _npz_member_source(path, key):
    """An `ArraySource` reading rows of one `.npz` member straight from the zip."""
    description = f"The array '{key}' of '{path}'"
    with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as member:
        shape, fortran, dtype = _npy_header(member)
    if fortran or dtype.hasobject:
        with np.load(path, allow_pickle=False) as stored:
            return ArraySource.of_array(stored[key], description)
    row_size = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize

    def raw_batches(batch_size):
        with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as member:
            _npy_header(member)
            for start in range(0, shape[0], batch_size):
                count = min(batch_size, shape[0] - start)
                data = member.read(count * row_size)
                yield np.frombuffer(data, dtype=dtype).reshape(count, *shape[1:])

    return ArraySource(raw_batches, shape, dtype, description)


def _npy_header(file):
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(file)
    return np.lib.format.read_array_header_2_0(file)


def _open_image(file):
    try:
        return Image.open(file)
    except Exception as error:
        raise ValueError(
            f"Cannot read image file '{file}' ({error}); delete it or re-save it "
            "as PNG or JPEG"
        ) from None
