"""Folders of image files (PNG, JPEG, BMP, GIF), checked file by file."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import keras
from PIL import Image

from kgen.data.options import COLOR_MODES, UINT8_RANGE, PipelineOptions, Source
from kgen.data.pipeline import import_tensorflow, make_pipeline

if TYPE_CHECKING:
    import tensorflow as tf

# The formats `keras.utils.image_dataset_from_directory` reads.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def from_directory(
    path: str | os.PathLike,
    *,
    image_size: tuple[int, int] = (64, 64),
    color_mode: str = "rgb",
    with_labels: bool = False,
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
    binarize: bool = False,
    limit: int | None = None,
) -> tf.data.Dataset:
    """Loads a folder of images (PNG, JPEG, BMP, GIF), resized to one size.

    Without labels every image under `path` is used, in any subfolder. With
    labels, `path` must hold one subfolder per class: the labels are the
    indices of the sorted subfolder names, as in
    `keras.utils.image_dataset_from_directory`, which does the reading. Every
    image is checked with Pillow first, so a broken file is reported by name
    instead of failing deep inside `tf.data`.

    Example:

    ```python
    # faces/ holds 0001.png, 0002.png, ...
    dataset = kgen.data.from_directory("faces", image_size=(64, 64), seed=0)
    ```

    Args:
        path: The folder.
        image_size: `(height, width)` every image is resized to.
        color_mode: `"rgb"` or `"grayscale"`.
        with_labels: Whether to yield `(images, labels)` with labels from the
            class subfolders.
        batch_size, shuffle, seed, drop_remainder, limit, binarize: As in `load()`.

    Returns:
        A `tf.data.Dataset`, see `load()`.

    Raises:
        FileNotFoundError: If `path` is not a folder.
        ValueError: If it holds no images, or an image cannot be read.
    """
    options = PipelineOptions.of(locals())
    return directory_dataset(path, with_labels, options)


def directory_dataset(
    path: str | os.PathLike, with_labels: bool, options: PipelineOptions
) -> tf.data.Dataset:
    """`from_directory()` with its pipeline keywords given as one `PipelineOptions`.

    `options.image_size` and `options.color_mode` must be set: images are
    resized and converted while they are decoded.
    """
    if options.color_mode is None:
        raise ValueError(f"color_mode must be one of {COLOR_MODES}, got None")
    if options.image_size is None:
        raise ValueError("image_size must be a (height, width) pair, got None")
    files = folder_image_files(Path(path), with_labels)
    for file in files:
        check_image_file(file)

    import_tensorflow()
    dataset = keras.utils.image_dataset_from_directory(
        path,
        labels="inferred" if with_labels else None,
        label_mode="int" if with_labels else None,
        color_mode=options.color_mode,
        batch_size=None,
        image_size=options.image_size,
        # The file list is shuffled once by keras, then again every epoch by
        # our pipeline when cached, or by keras when streamed.
        shuffle=options.shuffle,
        seed=options.seed,
        data_format="channels_last",
        verbose=False,
    )
    channels = 3 if options.color_mode == "rgb" else 1
    source = Source(
        dataset,
        # Decoded pixels are floats in [0, 255].
        UINT8_RANGE,
        len(files),
        shuffled=options.shuffle,
        # Decoded images are float32.
        example_bytes=math.prod(options.image_size) * channels * 4,
    )
    # Resizing and channels are handled while decoding.
    return make_pipeline(
        source, dataclasses.replace(options, image_size=None, color_mode=None)
    )


def image_files(sources) -> list[Path]:
    """The image files of a folder, a file, or a list of folders and files.

    Folders are searched in every subfolder for `IMAGE_EXTENSIONS`; files are
    taken as they are, in the order given.

    Example:

    ```python
    styles = kgen.data.image_files(["wikiart/", "starry_night.jpg"])
    ```

    Raises:
        FileNotFoundError: If a folder or file does not exist.
        ValueError: If the list is empty, or a folder holds no images.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    if not sources:
        raise ValueError("Got an empty list of image folders and files")
    files = []
    for source in map(Path, sources):
        if source.is_file():
            files.append(source)
        elif not source.exists():
            raise FileNotFoundError(f"No such image file or folder: '{source}'")
        else:
            files.extend(folder_image_files(source, with_labels=False))
    return files


def folder_image_files(folder: Path, with_labels: bool) -> list[Path]:
    """Lists the image files keras will read from `folder`, or raises.

    With labels, only the files in `folder`'s non-hidden subfolders (the
    classes) count.
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"No such folder: '{folder}'")
    if with_labels:
        # Keras reads classes from the non-hidden subfolders only.
        roots = sorted(
            p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
    else:
        roots = [folder]
    files = sorted(
        Path(dirpath) / name
        for root in roots
        for dirpath, _, names in os.walk(root)
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS)
    )
    if not files:
        where = f"class subfolders of '{folder}'" if with_labels else f"'{folder}'"
        raise ValueError(
            f"No image files found in {where}. Supported formats: "
            f"{', '.join(IMAGE_EXTENSIONS)}."
        )
    return files


def check_image_file(file: Path) -> None:
    """Raises a ValueError naming `file` if Pillow cannot read it, or it is truncated.

    Pillow's `verify()` reads a JPEG's headers only, so a JPEG cut short (an
    interrupted download or copy) passes it and then fails deep inside
    `tf.data` without a file name; its data is checked to end after the last
    scan instead, which costs reading the bytes, not decoding them.
    """
    try:
        with Image.open(file) as image:
            image_format = image.format
            image.verify()
    except Exception as error:
        raise ValueError(
            f"Cannot read image file '{file}' ({error}); delete it or re-save it "
            "as PNG or JPEG"
        ) from error
    if image_format == "JPEG":
        data = file.read_bytes()
        # 0xFFD9 (end of image) only occurs as a marker in entropy-coded data.
        if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
            raise ValueError(
                f"Image file '{file}' is a truncated JPEG (its data ends before "
                "the end-of-image marker); delete it or re-save it"
            )
