"""Completing held-out digits with a trained model: `recipes/complete_mnist.py`."""

import dataclasses

from kgen.config import setting

# kgen.completion.HALVES, written out: reading settings imports no framework.
HALVES = ("top", "bottom", "left", "right")


@dataclasses.dataclass
class CompletionConfig:
    """Settings of completing held-out digits whose half is missing."""

    model: str = setting(
        "saved_models/vae_mnist/vae_mnist.keras",
        "the trained VAE, GAN, DCGAN or cGAN (.keras file)",
    )
    dataset: str = setting(
        "glyphs", "TFDS name, IDX images file or 'glyphs' (its held-out part)"
    )
    held_out: int = setting(
        1000, "digits kept apart from training, as the model's recipe did"
    )
    num_images: int = setting(16, "held-out digits to complete")
    missing: str = setting("bottom", "the missing half", choices=HALVES)
    steps: int = setting(300, "steps of the latent search")
    learning_rate: float = setting(0.05, "the latent search's step size")
    output: str = setting("saved_models/completion.png", "the PNG of completions")
    overwrite: bool = setting(
        False, "replace an existing output image instead of stopping"
    )
    verbose: bool = setting(
        False, "show the frameworks' start-up logs (TensorFlow, CUDA, absl)"
    )
    seed: int = setting(0, "seed of the search's noise", check="non-negative")
