"""`BackupAndRestore`: Keras' callback, crash-safe and never keeping a bad state."""

import json
import os
import shutil

import keras

from kgen import distributed, saving
from kgen.callbacks.divergence_guard import non_finite_logs


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, crash-safe and never keeping a bad state.

    What it adds to `keras.callbacks.BackupAndRestore`:

    - each backup's weights go to a new file, and the metadata that names
      them is renamed into place last: a crash at any moment leaves the
      previous backup whole, its weights and epoch number agreeing;
    - an epoch whose metrics or weights are NaN or inf is not backed up: the
      last good state stays (see `DivergenceGuard`);
    - resuming says so: "Resuming from epoch N (backup in DIR)";
    - a corrupt or foreign backup raises an error naming the file and how
      to start over, instead of h5py's "file signature not found";
    - `delete_checkpoint=True` deletes the backup at the end only if
      training was not stopped by divergence; pass `False` and call
      `delete()` once the final model is safely written;
    - on several workers (`kgen.distributed`) every worker restores from the
      same backup, which only the chief writes and deletes: `backup_dir`
      must be on a file system every worker reads (each worker saves, as
      saving can be collective, but only the chief's file is kept).

    Args:
        backup_dir: directory of the backup (created when first needed).
        delete_checkpoint: delete the backup when training ends well.
        resume: restore a backup found in `backup_dir`; `False` starts
            afresh (the first new backup then replaces the old one).

    Example:

    ```python
    backup = kgen.callbacks.BackupAndRestore("runs/dcgan/backup",
                                             delete_checkpoint=False)
    gan.fit(train, epochs=20, callbacks=[kgen.callbacks.DivergenceGuard(), backup])
    gan.save("runs/dcgan/dcgan.keras")
    backup.delete()  # only now is the backup no longer needed
    ```
    """

    def __init__(self, backup_dir, delete_checkpoint: bool = True, resume: bool = True):
        super().__init__(os.fspath(backup_dir), delete_checkpoint=delete_checkpoint)
        self.resume = resume
        self.resumed_from_epoch = None
        self._stopped_by_divergence = False

    def on_train_begin(self, logs=None):
        self.resumed_from_epoch = None
        self._stopped_by_divergence = False
        weights = self.weights_file() if self.resume else None
        if weights is None:
            return
        try:
            self._restore(weights)
        except Exception as error:
            raise ValueError(
                f"The backup {weights} cannot be restored ({error}): it is "
                f"corrupt or belongs to another model; delete {self.backup_dir} "
                f"to start over, or choose another output directory"
            ) from error
        self.resumed_from_epoch = self.model._initial_epoch
        print(
            f"Resuming from epoch {self.resumed_from_epoch} "
            f"(backup in {self.backup_dir})",
            flush=True,
        )

    def weights_file(self) -> str | None:
        """The weights file of the last complete backup, or None if there is none.

        The metadata names it, so a crash between writing new weights and
        new metadata leaves the previous pair, which still agree. A backup
        written by Keras' own callback (`latest.weights.h5`, no name in the
        metadata) is read too.
        """
        metadata = self._metadata()
        name = metadata.get("weights", os.path.basename(self._weights_path))
        path = os.path.join(self.backup_dir, name)
        return path if os.path.exists(path) else None

    def _metadata(self) -> dict:
        if not os.path.exists(self._training_metadata_path):
            return {}
        with open(self._training_metadata_path) as file:
            return json.load(file)

    def _restore(self, weights):
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(weights)
        self.model._initial_epoch = self._metadata().get("epoch", 0)

    def on_epoch_end(self, epoch, logs=None):
        if non_finite_logs(logs) or saving.non_finite_weights(self.model):
            self._stopped_by_divergence = True
            return
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        # New weights go to a file of their own; the metadata, renamed into
        # place last, names them: that rename is the one commit point, so the
        # weights and the epoch number always agree. Then the old file goes.
        name = (
            f"epoch-{self._current_epoch:05d}-batch-{self._last_batch_seen}.weights.h5"
        )
        # Every worker saves (saving can be collective); the chief's is kept.
        path = os.path.join(self.backup_dir, name)
        with distributed.chief_path(path) as path:
            with saving.atomic_path(path) as partial:
                self.model.save_weights(str(partial), overwrite=True)
        if not distributed.is_chief():
            return
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights": name,
        }
        saving.write_bytes(self._training_metadata_path, json.dumps(metadata).encode())
        for other in os.listdir(self.backup_dir):
            if other.endswith(".weights.h5") and other != name:
                os.remove(os.path.join(self.backup_dir, other))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and not self._stopped_by_divergence:
            self.delete()

    def delete(self):
        """Deletes the backup directory (once the final model is written).

        Only the chief deletes it; on other workers this does nothing.
        """
        if not distributed.is_chief():
            return
        shutil.rmtree(self.backup_dir, ignore_errors=True)
