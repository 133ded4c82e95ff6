"""Sample quality: FID, KID and classifier scores of generated images.

FID (`frechet_distance`) and KID (`kernel_distance`, unbiased, with its
standard deviation over subsets) compare real and generated images in the
feature space of an extractor: the last hidden layer of kgen's own digit
classifier for 28x28 data (`kgen.classifier.feature_extractor`), InceptionV3
(`inception_feature_extractor`) or any Keras model. Statistics are float64;
those of the real set are cached on disk (`real_statistics`). A classifier
also scores conditional samples against their labels (`classifier_accuracy`)
and exposes mode collapse (`class_coverage`). Beyond them: the Inception
Score of a classifier's logits (`inception_score`), improved precision and
recall (`precision_recall`) and density and coverage (`density_coverage`).
`SampleQuality` bundles them; `kgen.callbacks.Evaluate` logs them during
`fit`; `compare` scores any image source (folder, array file, model,
reference statistics) against any other, streamed in batches.

Values depend on the extractor and on the number of images (FID is biased
upward for small sets): compare numbers measured the same way. FIDs in a
digit classifier's feature space are not comparable with published,
Inception-based FIDs, nor are those of Keras' ImageNet InceptionV3. Those of
`fid_inception_extractor` (the FID Inception network of pytorch-fid,
clean-fid and TF-GAN) are, when computed with the reference's conventions
(its `mode`); `FeatureStatistics.load_npz` reads those tools' reference
statistics.

Example:

```python
classifier = kgen.classifier.dataset_classifier("glyphs")
quality = kgen.metrics.SampleQuality(held_out_digits, classifier=classifier)
quality.score_model(gan, num_samples=1000)  # fid, kid, kid_std, class_coverage, ...
```
"""

from kgen.metrics.classifier_scores import (
    class_coverage,
    classifier_accuracy,
    predict_classes,
    predict_logits,
    predicted_class_coverage,
)
from kgen.metrics.compare import RunningMoments, compare
from kgen.metrics.distances import (
    frechet_distance,
    frechet_distance_from_moments,
    kernel_distance,
)
from kgen.metrics.feature_statistics import FeatureStatistics
from kgen.metrics.features import (
    EXTRACTORS,
    check_images,
    extract_features,
    extractor_fingerprint,
    inception_feature_extractor,
    named_extractor,
    real_statistics,
)
from kgen.metrics.fid_inception import fid_inception_extractor
from kgen.metrics.inception_score import inception_score
from kgen.metrics.nearest_neighbors import (
    density_coverage,
    kth_neighbor_distances,
    precision_recall,
)
from kgen.metrics.sample_quality import METRICS, SampleQuality
from kgen.metrics.sources import ImageSource, image_source

__all__ = [
    "EXTRACTORS",
    "METRICS",
    "FeatureStatistics",
    "ImageSource",
    "RunningMoments",
    "SampleQuality",
    "check_images",
    "class_coverage",
    "classifier_accuracy",
    "compare",
    "density_coverage",
    "extract_features",
    "extractor_fingerprint",
    "fid_inception_extractor",
    "frechet_distance",
    "frechet_distance_from_moments",
    "image_source",
    "inception_feature_extractor",
    "inception_score",
    "kernel_distance",
    "kth_neighbor_distances",
    "named_extractor",
    "precision_recall",
    "predict_classes",
    "predict_logits",
    "predicted_class_coverage",
    "real_statistics",
]
