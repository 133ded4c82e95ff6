"""Reading, resizing and writing images: single RGB images and grids of samples.

Style transfer works on float32 RGB images of shape `(height, width, 3)` with
values in [0, 1]. `read_image` turns what users have (a file path, a PIL image,
a NumPy array in uint8 or float, grayscale or RGB) into that, with a clear error
for anything else.

Everything here reads float images as [0, 1] unless told otherwise:
`to_uint8` and `save_grid` take a `value_range`, so images from the generative
models, in [-1, 1], are written with `value_range=(-1, 1)`.

Example:

```python
content = kgen.images.read_image("tubingen.jpg", max_size=512)
kgen.images.save_image(content, "out/tubingen_512.png")
kgen.images.save_grid(gan.generate(64), "samples.png", value_range=(-1, 1))
```
"""

import math
import os
import warnings
from pathlib import Path

import keras
import numpy as np
from PIL import Image, UnidentifiedImageError

from kgen import saving
from kgen.networks.validation import check_positive

# ITU-R BT.601 YUV: Y is luminance, U and V carry the colour.
_RGB_TO_YUV = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.14714119, -0.28886916, 0.43601035],
        [0.61497538, -0.51496512, -0.10001026],
    ],
    dtype=np.float32,
)
_YUV_TO_RGB = np.linalg.inv(_RGB_TO_YUV).astype(np.float32)


def read_image(image, *, max_size: int | None = None, size=None) -> np.ndarray:
    """Returns `image` as a float32 RGB array `(height, width, 3)` in [0, 1].

    Args:
        image: A path to an image file, a PIL image, or an array of shape
            `(H, W)`, `(H, W, 1)` or `(H, W, 3)`: uint8 in [0, 255] or float in
            [0, 1]. Grayscale is repeated to RGB; an alpha channel is dropped.
        max_size: Shrink the image, keeping its aspect ratio, so that its longer
            side is at most this many pixels. Images are never shrunk silently:
            a `UserWarning` says when it happens.
        size: `(height, width)` to resize to exactly, instead of `max_size`.

    Raises:
        FileNotFoundError: If a path does not exist.
        ValueError: If the file is not a readable image, or an array has the
            wrong shape, dtype or value range.
    """
    if max_size is not None and size is not None:
        raise ValueError("Pass max_size or size, not both")
    pixels = _to_array(image)
    height, width = pixels.shape[:2]
    if size is not None:
        if len(size) != 2 or not all(int(s) == s and s > 0 for s in size):
            raise ValueError(
                f"size must be a (height, width) pair of positive integers, got {size!r}"
            )
        return resize(pixels, (int(size[0]), int(size[1])))
    if max_size is not None:
        if int(max_size) != max_size or max_size <= 0:
            raise ValueError(f"max_size must be a positive integer, got {max_size!r}")
        scale = max_size / max(height, width)
        if scale < 1:
            new_size = (max(1, round(height * scale)), max(1, round(width * scale)))
            warnings.warn(
                f"Image of {height}x{width} pixels resized to "
                f"{new_size[0]}x{new_size[1]} (max_size={max_size}).",
                stacklevel=2,
            )
            return resize(pixels, new_size)
    return pixels


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resizes an `(H, W, C)` float image to `size = (height, width)` (antialiased)."""
    if tuple(image.shape[:2]) == tuple(size):
        return image
    resized = keras.ops.image.resize(
        image[None], size, interpolation="bilinear", antialias=True
    )
    return np.clip(keras.ops.convert_to_numpy(resized)[0], 0.0, 1.0)


def resize_relative(
    image: np.ndarray, size: tuple[int, int], scale: float = 1.0, min_side: int = 1
) -> np.ndarray:
    """Resizes `image` so its longer side is `scale` x the longer side of `size`.

    Its shorter side is kept at `min_side` or more, and its aspect ratio as
    it is (style transfer scales a painting against the photo this way:
    Gram matrices do not depend on the size, but VGG's deepest layers need
    some pixels).
    """
    target = scale * max(size)
    factor = max(target / max(image.shape[:2]), min_side / min(image.shape[:2]))
    new_size = tuple(max(1, round(s * factor)) for s in image.shape[:2])
    return resize(image, new_size)


def to_uint8(images, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Maps float images in `value_range` to uint8 in [0, 255], rounding and clipping.

    Accepts arrays or tensors of any backend, any shape. Values outside
    `value_range` are clipped.

    Example:

    ```python
    pixels = kgen.images.to_uint8(model.generate(16), value_range=(-1, 1))
    ```

    Args:
        images: Array or tensor of float images.
        value_range: `(low, high)`: low becomes 0 and high 255. (0, 1) for
            style transfer, (-1, 1) for what kgen's generative models and
            data pipelines produce.
    """
    low, high = _check_value_range(value_range)
    images = np.asarray(keras.ops.convert_to_numpy(images), dtype=np.float32)
    scaled = (images - low) * (255.0 / (high - low))
    return np.round(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)


def save_grid(
    images,
    path: str | os.PathLike,
    *,
    cols: int | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> Path:
    """Tiles a batch of images into one PNG (or any format Pillow writes).

    Images of shape `(N, H, W)` or `(N, H, W, C)` with C = 1 or 3 are laid
    out row by row, `cols` per row (default: a near-square grid). uint8
    images are written as they are, others are mapped from `value_range`
    with `to_uint8`. The file is written whole or not at all.

    Example:

    ```python
    samples = model.generate(64)  # in [-1, 1]
    kgen.images.save_grid(samples, "samples/epoch_010.png", cols=8, value_range=(-1, 1))
    ```

    Args:
        images: Array or tensor of images.
        path: Output file; missing parent folders are created.
        cols: Number of columns.
        value_range: `(low, high)` of float images, as in `to_uint8`.

    Returns:
        The path written.
    """
    grid = grid_image(images, cols=cols, value_range=value_range)
    path = Path(path)
    with saving.atomic_path(path) as partial:
        Image.fromarray(grid).save(partial)
    return path


def grid_image(
    images, *, cols: int | None = None, value_range: tuple[float, float] = (0.0, 1.0)
) -> np.ndarray:
    """The uint8 grid `save_grid` writes: `(rows * H, cols * W)` for grey
    images, `(rows * H, cols * W, 3)` for RGB ones; blank cells fill the last row."""
    images = keras.ops.convert_to_numpy(images)
    if images.dtype != np.uint8:
        images = to_uint8(images, value_range)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise ValueError(
            "save_grid expects images of shape (N, H, W) or (N, H, W, C) with "
            f"C in (1, 3), got shape {images.shape}"
        )
    count = len(images)
    if count == 0:
        raise ValueError("save_grid got no images to save")
    if cols is None:
        cols = math.ceil(math.sqrt(count))
    check_positive("cols", cols)
    rows = math.ceil(count / cols)
    blank = np.zeros((rows * cols - count,) + images.shape[1:], np.uint8)
    tiles = np.concatenate([images, blank])
    height, width = images.shape[1:3]
    tiles = tiles.reshape((rows, cols) + images.shape[1:]).swapaxes(1, 2)
    return tiles.reshape((rows * height, cols * width) + images.shape[3:])


def save_image(image, path: str | os.PathLike) -> Path:
    """Writes an `(H, W, 3)` image (uint8, or float in [0, 1]) to `path`.

    The format follows the file extension; missing folders are created.
    """
    image = np.asarray(keras.ops.convert_to_numpy(image))
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"save_image expects (H, W, 3), got shape {image.shape}")
    if image.dtype != np.uint8:
        image = to_uint8(image)
    path = Path(path)
    with saving.atomic_path(path) as partial:
        Image.fromarray(image).save(partial)
    return path


def rgb_to_yuv(image: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] to YUV (BT.601) along the last axis."""
    return np.asarray(image, np.float32) @ _RGB_TO_YUV.T


def yuv_to_rgb(image: np.ndarray) -> np.ndarray:
    """The inverse of `rgb_to_yuv`."""
    return np.asarray(image, np.float32) @ _YUV_TO_RGB.T


def keep_colors(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The luminance of `stylized` with the colour (chroma) of `content`.

    This is luminance-only transfer (Gatys et al., "Preserving Color in Neural
    Artistic Style Transfer", 2016): the painting's brush strokes and contrast,
    the photo's colours. Both images are `(H, W, 3)` floats in [0, 1].
    """
    if stylized.shape != content.shape:
        content = resize(content, stylized.shape[:2])
    yuv = rgb_to_yuv(content)
    yuv[..., 0] = rgb_to_yuv(stylized)[..., 0]
    return np.clip(yuv_to_rgb(yuv), 0.0, 1.0)


def luminance(image: np.ndarray) -> np.ndarray:
    """The luminance (BT.601 Y) of an RGB image in [0, 1], as a gray RGB image."""
    y = rgb_to_yuv(image)[..., :1]
    return np.repeat(np.clip(y, 0.0, 1.0), 3, axis=-1)


def match_luminance(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Shifts and scales `image`'s values to `reference`'s mean and std.

    Gatys et al. (2016) do this to the painting's luminance before
    luminance-only transfer, so that its overall brightness does not carry
    over. Both are float images in [0, 1]; so is the result.
    """
    std = image.std() or 1.0
    matched = (image - image.mean()) * (reference.std() / std) + reference.mean()
    return np.clip(matched, 0.0, 1.0).astype(np.float32)


def pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Pads an `(H, W, C)` image at the bottom and right to multiples of `multiple`.

    Reflect-padding (edge-padding for images no larger than `multiple`), so
    that networks whose pooling floors odd sizes see no dark borders; crop
    the result back with `[:H, :W]`.
    """
    height, width = image.shape[:2]
    pad_height, pad_width = -height % multiple, -width % multiple
    if not pad_height and not pad_width:
        return image
    # Reflection needs the image to be larger than the padding.
    mode = "reflect" if min(height, width) > multiple else "edge"
    return np.pad(image, ((0, pad_height), (0, pad_width), (0, 0)), mode=mode)


def _check_value_range(value_range) -> tuple[float, float]:
    try:
        low, high = (float(value) for value in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"value_range must be a (low, high) pair of numbers, got {value_range!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(
            f"value_range must be finite with low < high, got {value_range!r}"
        )
    return low, high


def _to_array(image) -> np.ndarray:
    if isinstance(image, (str, os.PathLike)):
        image = _open(Path(image))
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    pixels = np.asarray(keras.ops.convert_to_numpy(image))
    if pixels.ndim == 3 and pixels.shape[-1] == 4:
        pixels = pixels[..., :3]
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[-1] not in (1, 3):
        raise ValueError(
            "An image must have shape (H, W), (H, W, 1) or (H, W, 3) (a single "
            f"image, channels last), got shape {pixels.shape}"
        )
    if min(pixels.shape[:2]) < 1:
        raise ValueError(f"An image must not be empty, got shape {pixels.shape}")
    if pixels.dtype == np.uint8:
        pixels = pixels.astype(np.float32) / 255.0
    elif pixels.dtype.kind == "f":
        pixels = pixels.astype(np.float32)
        if not np.isfinite(pixels).all():
            raise ValueError("The image contains NaN or infinite values")
        low, high = float(pixels.min()), float(pixels.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"Float images must be in [0, 1], got values in [{low:g}, {high:g}]. "
                "Pass uint8 arrays for 0-255 pixel values."
            )
    else:
        raise ValueError(
            f"Image arrays must be uint8 or float, got dtype {pixels.dtype}"
        )
    return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels


def _open(path: Path) -> Image.Image:
    if not path.is_file():
        raise FileNotFoundError(f"No such image file: '{path}'")
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"Cannot read image file '{path}': {error}") from error
