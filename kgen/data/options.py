"""What every loader shares: the pipeline options and the source description."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from kgen.networks.validation import check_positive, is_int

if TYPE_CHECKING:
    import tensorflow as tf

COLOR_MODES = ("grayscale", "rgb")
# The value range of uint8 pixels, and of decoded images before rescaling.
UINT8_RANGE = (0.0, 255.0)


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    """How a source becomes batches: the keyword arguments every loader shares.

    The loaders (`load`, `from_numpy`, `from_idx`, ...) take these as keyword
    arguments, build one `PipelineOptions` and hand it on, so the arguments are
    validated once, in one place. See `kgen.data.load()` for their meaning.

    Example:

    ```python
    options = kgen.data.PipelineOptions(batch_size=64, seed=0, limit=1000)
    dataset = kgen.data.arrays.numpy_dataset(images, None, options)
    ```
    """

    batch_size: int = 128
    shuffle: bool = True
    seed: int | None = None
    image_size: tuple[int, int] | None = None
    color_mode: str | None = None
    drop_remainder: bool = False
    limit: int | None = None
    binarize: bool = False

    @classmethod
    def of(cls, arguments: dict) -> PipelineOptions:
        """The options among a loader's arguments, e.g. `PipelineOptions.of(locals())`.

        Each public loader keeps its keyword arguments (for its signature and
        docs) and passes them on as one object; this picks them out by name.
        """
        names = [field.name for field in dataclasses.fields(cls)]
        return cls(**{name: arguments[name] for name in names if name in arguments})

    def __post_init__(self):
        check_positive("batch_size", self.batch_size)
        if self.limit is not None:
            check_positive("limit", self.limit)
        if self.seed is not None and not is_int(self.seed):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")
        if self.image_size is not None:
            size = self.image_size
            if len(size) != 2 or not all(is_int(s) and s > 0 for s in size):
                raise ValueError(
                    "image_size must be a (height, width) pair of positive "
                    f"integers, got {size!r}"
                )
            object.__setattr__(self, "image_size", tuple(int(s) for s in size))
        if self.color_mode not in (None,) + COLOR_MODES:
            raise ValueError(
                f"color_mode must be one of {COLOR_MODES} or None, got "
                f"{self.color_mode!r}"
            )


@dataclasses.dataclass(frozen=True)
class Source:
    """An unbatched dataset plus what the pipeline needs to know about it.

    `value_range` is the (low, high) range of its pixel values, mapped
    linearly to [-1, 1].
    `num_examples` is None when unknown. `in_memory` says whether the data is
    in memory already, `shuffled` whether the source reshuffles every epoch
    itself, and `example_bytes` is the size of one decoded example (None if
    unknown), which decides whether caching fits in memory.
    """

    dataset: tf.data.Dataset
    value_range: tuple[float, float]
    num_examples: int | None
    in_memory: bool = False
    shuffled: bool = False
    example_bytes: int | None = None
