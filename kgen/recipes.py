"""The training loop the recipes share: data, fit with samples and backups, save."""

from pathlib import Path

import keras

from kgen import callbacks, data


def train_and_export(model: keras.Model, config, name: str) -> keras.Model:
    """Trains a compiled 28x28 model on `config.dataset` and writes its artefacts.

    Expects `config` to have `dataset`, `batch_size`, `epochs`, `limit`, `seed`
    and `output_dir`. Under `output_dir` it writes sample grids (`samples/`),
    `<name>.keras` and the SavedModel `saved_model/`; `backup/` holds the
    `BackupAndRestore` state while training, so re-running resumes.
    """
    output_dir = Path(config.output_dir)
    train = data.load(
        config.dataset,
        batch_size=config.batch_size,
        image_size=(28, 28),
        color_mode="grayscale",
        limit=config.limit,
        seed=config.seed,
    )
    model.fit(
        train,
        epochs=config.epochs,
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
