"""Inception Score (Salimans et al. 2016) from a classifier's logits or probabilities."""

import numpy as np

# The split count of the original implementation and of torch-fidelity.
DEFAULT_SPLITS = 10


def inception_score(
    predictions,
    *,
    from_logits: bool = True,
    splits: int = DEFAULT_SPLITS,
    seed: int | None = None,
) -> tuple[float, float]:
    """The Inception Score: `exp E_x KL(p(y|x) || p(y))`, with its spread over splits.

    The images are cut into `splits` consecutive parts (part `i` holds rows
    `i * N // splits` to `(i + 1) * N // splits`, as in the original code and
    torch-fidelity); each part's score uses that part's marginal `p(y)`, and
    the result is their mean and standard deviation. It is high (up to the
    number of classes) when every image is confidently one class and all
    classes occur equally often; 1 for uninformative predictions. In float64.

    The score depends on the classifier: InceptionV3's 1008 ImageNet logits
    give the published Inception Scores, kgen's digit classifier a "digit
    IS" from 1 to 10 that only ranks models scored the same way.

    Args:
        predictions: `(num_images, num_classes)` logits, or probabilities
            with `from_logits=False` (rows of non-negative values summing
            to 1).
        from_logits: whether `predictions` are logits (softmax is applied).
        splits: how many parts to score; at most `num_images`.
        seed: None keeps the images' order; an integer shuffles them first
            with `np.random.RandomState(seed).permutation`, as torch-fidelity
            does with its default seed 2020.

    Returns:
        `(inception_score, inception_score_std)`.

    Example:

    ```python
    logits = classifier.predict(images)
    score, spread = kgen.metrics.inception_score(logits)
    ```
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    if predictions.ndim != 2 or predictions.shape[1] < 2:
        raise ValueError(
            "predictions must have shape (num_images, num_classes) with at least "
            f"2 classes, got {predictions.shape}"
        )
    if not np.all(np.isfinite(predictions)):
        raise ValueError("predictions contain NaN or infinite values")
    if not isinstance(splits, int) or not 1 <= splits <= len(predictions):
        raise ValueError(
            f"splits must be an integer from 1 to {len(predictions)} (the number "
            f"of images), got {splits!r}"
        )
    if from_logits:
        shifted = predictions - predictions.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        p = np.exp(log_p)
    else:
        p = predictions
        if p.min() < 0 or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
            raise ValueError(
                "With from_logits=False, predictions must be probabilities: "
                "non-negative rows that sum to 1"
            )
        with np.errstate(divide="ignore"):
            log_p = np.log(p)
    if seed is not None:
        order = np.random.RandomState(seed).permutation(len(p))
        p, log_p = p[order], log_p[order]
    count = len(p)
    scores = np.empty(splits)
    for index in range(splits):
        part = slice(index * count // splits, (index + 1) * count // splits)
        p_part, log_p_part = p[part], log_p[part]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_marginal = np.log(p_part.mean(axis=0))
            # 0 * log 0 is 0: classes a probability row leaves out add nothing.
            terms = np.where(p_part > 0, p_part * (log_p_part - log_marginal), 0.0)
        scores[index] = np.exp(terms.sum(axis=1).mean())
    return float(scores.mean()), float(scores.std())
