import numpy as np
import pytest
from keras import ops

from kgen import networks
from kgen.networks import validation


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_networks_fit_the_image_shape(image_shape):
    generator = networks.dcgan_generator(
        latent_dim=8, image_shape=image_shape, base_filters=4
    )
    discriminator = networks.dcgan_discriminator(
        image_shape=image_shape, base_filters=4
    )
    images = ops.convert_to_numpy(generator(np.zeros((2, 8), "float32")))
    assert images.shape == (2, *image_shape)
    assert np.all(np.abs(images) <= 1.0)
    assert tuple(discriminator(images).shape) == (2, 1)


def test_dcgan_kernel_size_and_dropout_shape_the_networks():
    generator = networks.dcgan_generator(latent_dim=8, base_filters=4, kernel_size=5)
    discriminator = networks.dcgan_discriminator(
        base_filters=4, kernel_size=5, dropout=0.3
    )
    for network in (generator, discriminator):
        kernels = [
            layer.kernel_size
            for layer in network.layers
            if hasattr(layer, "kernel_size")
        ]
        assert kernels and set(kernels) == {(5, 5)}
    rates = [layer.rate for layer in discriminator.layers if hasattr(layer, "rate")]
    assert rates == [0.3, 0.3]  # after each of the two activations
    plain = networks.dcgan_discriminator(base_filters=4)
    assert not [layer for layer in plain.layers if hasattr(layer, "rate")]
    images = np.zeros((2, 28, 28, 1), "float32")
    # Dropout is off outside training: the same input gives the same logit.
    np.testing.assert_array_equal(
        ops.convert_to_numpy(discriminator(images)),
        ops.convert_to_numpy(discriminator(images)),
    )


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3)])
def test_dcgan_coarse_convolutions_add_3x3_convolutions_at_the_coarsest_size(
    image_shape,
):
    discriminator = networks.dcgan_discriminator(
        image_shape=image_shape, base_filters=4, coarse_convolutions=2
    )
    convolutions = [
        (layer.kernel_size, layer.strides, layer.filters)
        for layer in discriminator.layers
        if hasattr(layer, "kernel_size")
    ]
    strided = [((4, 4), (2, 2), 4 * 2**step) for step in range(len(convolutions) - 2)]
    widest = strided[-1][2]
    assert convolutions == strided + [((3, 3), (1, 1), widest)] * 2
    images = np.zeros((2, *image_shape), "float32")
    assert tuple(discriminator(images).shape) == (2, 1)
    # The builder's default is the DCGAN paper's discriminator, without them.
    plain = networks.dcgan_discriminator(image_shape=image_shape, base_filters=4)
    assert len([x for x in plain.layers if hasattr(x, "kernel_size")]) == len(strided)


@pytest.mark.parametrize("value", [-1, 1.5, True, "1"])
def test_dcgan_coarse_convolutions_must_be_a_non_negative_integer(value):
    with pytest.raises(
        ValueError, match="coarse_convolutions must be a non-negative integer"
    ):
        networks.dcgan_discriminator(coarse_convolutions=value)


def test_mlp_networks_are_the_classic_sizes():
    generator = networks.mlp_generator()
    dense_units = [layer.units for layer in generator.layers if hasattr(layer, "units")]
    assert dense_units == [128, 256, 784]
    assert generator.input_shape == (None, 100)
    discriminator = networks.mlp_discriminator()
    dense_units = [
        layer.units for layer in discriminator.layers if hasattr(layer, "units")
    ]
    assert dense_units == [256, 128, 1]


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: networks.dcgan_generator(image_shape=(27, 27, 1)), "divisible by 2"),
        (
            lambda: networks.dcgan_generator(image_shape=(28, 28)),
            "height, width, channels",
        ),
        (
            lambda: networks.dcgan_generator(image_shape=(28, 28, 2)),
            "1 \\(grayscale\\) or 3",
        ),
        (
            lambda: networks.dcgan_generator(latent_dim=0),
            "latent_dim must be a positive",
        ),
        (
            lambda: networks.dcgan_discriminator(normalization="group"),
            "normalization must",
        ),
        (
            lambda: networks.dcgan_discriminator(dropout=1.0),
            "dropout must be a number in \\[0, 1\\)",
        ),
        (
            lambda: networks.dcgan_generator(kernel_size=0),
            "kernel_size must be a positive",
        ),
        (
            lambda: networks.mlp_generator(latent_dim=-3),
            "latent_dim must be a positive",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("value", [1, 7, np.int32(3), np.int64(5), np.uint8(2)])
def test_check_positive_accepts_python_and_numpy_integers(value):
    validation.check_positive("size", value)


@pytest.mark.parametrize("value", [0, -1, True, np.bool_(True), 2.0, "3", None])
def test_check_positive_rejects_everything_else(value):
    with pytest.raises(ValueError, match="size must be a positive integer, got"):
        validation.check_positive("size", value)
