"""Mixed precision: every model trains under `mixed_bfloat16` (and `mixed_float16`
with loss scaling), computes in 16 bits, keeps float32 variables and outputs."""

import keras
import numpy as np
import pytest
from keras import ops
from tiny_models import tiny_adain, tiny_model

import kgen
from kgen import backend


@pytest.fixture
def policy(request):
    keras.mixed_precision.set_dtype_policy(request.param)
    yield request.param
    keras.mixed_precision.set_dtype_policy("float32")


def _digits(count=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (count, 28, 28, 1)).astype("float32")


def _generative(name):
    # Spectral normalisation (of the GANs' discriminators) and convolutions:
    # the layers that need float32 islands.
    return tiny_model(name, spectral_normalization=name != "vae", conv=True)


def _computes_in(model, dtype):
    networks = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    hidden = [
        layer.compute_dtype
        for network in networks
        for layer in network.layers
        if layer.weights and layer.compute_dtype != "float32"
    ]
    return hidden and set(hidden) == {dtype}


# One training step of every model in bfloat16 is in tests/battery.py, run by
# each model's test file. Here, in float16, one model per loss-scaling path:
# the GANs' static factor (the cGAN also has embeddings, whose sparse
# gradients must be unscaled) and Keras' dynamic LossScaleOptimizer (the VAE).
@pytest.mark.parametrize(
    "policy, name",
    [("mixed_float16", "cgan"), ("mixed_float16", "vae")],
    indirect=["policy"],
)
def test_generative_models_train_in_mixed_precision(policy, name):
    model = _generative(name)
    model.compile()
    labels = np.arange(16) % 3 if name == "cgan" else None
    history = model.fit(_digits(), labels, batch_size=8, epochs=2, verbose=0)

    assert _computes_in(model, policy.removeprefix("mixed_"))
    assert all(v.dtype == "float32" for v in model.weights)
    for key, values in history.history.items():
        assert np.all(np.isfinite(values)), key
    images = model.generate(4, seed=1)
    assert images.dtype == np.float32
    assert np.isfinite(images).all()
    assert -1.0 <= images.min() and images.max() <= 1.0 or name == "vae"


@pytest.mark.parametrize("policy", ["mixed_float16"], indirect=True)
def test_float16_gans_scale_their_losses(policy):
    model = _generative("dcgan")
    model.compile()
    # Static scaling: a dynamic LossScaleOptimizer cannot sit in a MultiOptimizer.
    assert model.d_optimizer.loss_scale_factor == 2.0**10
    assert model.g_optimizer.loss_scale_factor == 2.0**10
    vae = _generative("vae")
    vae.compile()
    assert isinstance(vae.optimizer, keras.optimizers.LossScaleOptimizer)


class _Quadratic(kgen.models.Model):
    """`loss = factor * w^2` minimised by `kgen.backend.minimize`."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor
        self.w = self.add_weight(shape=(), initializer="ones", name="w")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker]

    def stateful_train_step(self, data):
        def loss_fn():
            return self.factor * ops.square(self.w), None

        loss, _ = backend.minimize(self.optimizer, loss_fn, [self.w])
        return self.update_metrics(loss)


def _one_step(factor, optimizer):
    model = _Quadratic(factor)
    model.compile(optimizer=optimizer)
    model.train_on_batch(np.zeros((1, 1), "float32"))
    return model


def test_minimize_scales_the_loss_and_unscales_the_gradient():
    plain = _one_step(1.0, keras.optimizers.SGD(0.1))
    scaled = _one_step(
        1.0, keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1))
    )
    # w - 0.1 * 2w either way: the scale is undone before the update.
    assert float(ops.convert_to_numpy(plain.w)) == pytest.approx(0.8)
    assert float(ops.convert_to_numpy(scaled.w)) == pytest.approx(0.8)


def test_minimize_skips_a_step_whose_scaled_gradient_overflows():
    # The plain gradient 2e35 is finite in float32; times the initial scale
    # 2**15 it is not, so the step is skipped and the scale halved.
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(1e-40))
    model = _one_step(1e35, optimizer)
    assert float(ops.convert_to_numpy(model.w)) == 1.0
    assert float(ops.convert_to_numpy(optimizer.dynamic_scale)) == 2.0**14


@pytest.mark.parametrize("policy", ["mixed_bfloat16"], indirect=True)
def test_style_models_run_in_mixed_precision(policy, vgg16_weights):
    rng = np.random.default_rng(0)
    content = rng.uniform(0, 1, (4, 32, 32, 3)).astype("float32")
    style = rng.uniform(0, 1, (4, 32, 32, 3)).astype("float32")
    adain = tiny_adain(vgg16_weights)
    adain.compile()
    history = adain.fit(content, style, batch_size=2, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    assert adain.decoder.layers[1].compute_dtype == "bfloat16"
    stylized = adain.stylize(content[0], style[0])
    assert stylized.dtype == np.float32 and np.isfinite(stylized).all()

    painter = kgen.StyleTransfer(
        backbone="vgg16",
        weights=vgg16_weights,
        content_layers=("block2_conv2",),
        style_layers=("block1_conv1", "block2_conv1"),
    )
    painted = painter.stylize(content[0], style[0], steps=4, verbose=0)
    assert painted.dtype == np.float32 and np.isfinite(painted).all()
    log = painter.optimization_log["loss"]
    assert log[-1] < log[0]
