"""Input pipelines: `tf.data.Dataset`s of images in [-1, 1], ready for `fit()`.

Every loader yields float32 batches of shape `(batch, height, width, channels)`
in [-1, 1], or `(images, labels)` tuples with int32 labels when labels are
asked for. Datasets are shuffled (reproducibly when `seed` is given), batched,
cached in memory when they fit and prefetched.

`tf.data` works with every Keras backend. TensorFlow is imported on first use
only, so `import kgen` stays fast for JAX and PyTorch users who bring their own
data.

The package has one module per source and one for what they share:

- `catalog`: `load()`, which picks the source from a name or a path;
- `tfds`, `idx`, `folders`, `arrays`, `embedded`: TFDS sets, MNIST IDX files,
  folders of images, NumPy arrays and the embedded glyphs;
- `splits`: `held_out_split()`, the random held-out examples of a file;
- `options`: `PipelineOptions`, the keyword arguments every loader shares;
- `pipeline`: cache, shuffle, batch, rescale and prefetch, for every source;
- `style`: `style_pairs()`, the `(content, style)` crops of style networks.

Example:

```python
dataset = kgen.data.load("mnist", batch_size=64, seed=0)
dataset = kgen.data.load("glyphs", with_labels=True)  # embedded, no download
dataset = kgen.data.load("path/to/folder_of_images", image_size=(64, 64))
images = next(iter(dataset))
kgen.images.save_grid(images, "/tmp/batch.png", value_range=(-1, 1))
```
"""

from kgen.data.arrays import from_numpy
from kgen.data.catalog import load
from kgen.data.folders import IMAGE_EXTENSIONS, from_directory, image_files
from kgen.data.idx import (
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    from_idx,
    labels_path_for,
    read_idx,
)
from kgen.data.options import PipelineOptions
from kgen.data.pipeline import import_tensorflow
from kgen.data.splits import held_out_split
from kgen.data.style import style_pairs
from kgen.data.tfds import (
    KNOWN_DATASETS,
    TFDS_DATASETS,
    DatasetDownloadError,
    from_tfds,
)
from kgen.glyphs import glyphs

__all__ = [
    "DatasetDownloadError",
    "IDX_IMAGES_MAGIC",
    "IDX_LABELS_MAGIC",
    "IMAGE_EXTENSIONS",
    "KNOWN_DATASETS",
    "PipelineOptions",
    "TFDS_DATASETS",
    "from_directory",
    "from_idx",
    "from_numpy",
    "from_tfds",
    "glyphs",
    "held_out_split",
    "image_files",
    "import_tensorflow",
    "labels_path_for",
    "load",
    "read_idx",
    "style_pairs",
]
