"""`SpectralNormalization`: Keras' wrapper, reparametrised to work in kgen's steps."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kgen")
class SpectralNormalization(keras.layers.SpectralNormalization):
    """Divides a layer's kernel by its largest singular value in the forward pass.

    `keras.layers.SpectralNormalization` with the reparametrisation of Miyato et
    al. (2018): the kernel variable keeps the raw weights `W` and the wrapped
    layer runs on `W / sigma(W)`, so gradients flow through `sigma` and the
    kernel is never overwritten during a step. (Keras' layer assigns the
    normalised kernel to the variable in every training call; under PyTorch
    that in-place write breaks the backward pass of a discriminator called
    twice in one loss, and the gradient it gives differs between backends.)
    `sigma` is estimated by power iteration on the non-trainable `vector_u`,
    which advances in training calls only, so inference is deterministic.

    Example:

    ```python
    dense = kgen.layers.SpectralNormalization(keras.layers.Dense(8))
    outputs = dense(keras.random.normal((4, 16)), training=True)
    ```
    """

    def call(self, inputs, training=False):
        vector_u, sigma = self._power_iteration()
        if training:
            self.vector_u.assign(vector_u)
        # An all-zero kernel has sigma 0; it stays zero instead of turning NaN.
        kernel = self.kernel / ops.maximum(sigma, 1e-12)
        # The wrapped layer reads its variables; this runs it with the kernel
        # replaced by the normalised one, which stays differentiable.
        trainable = [
            kernel if variable is self.kernel else variable
            for variable in self.layer.trainable_variables
        ]
        non_trainable = [
            kernel if variable is self.kernel else variable
            for variable in self.layer.non_trainable_variables
        ]
        outputs, _ = self.layer.stateless_call(trainable, non_trainable, inputs)
        return outputs

    def normalized_weights(self):
        """`(vector_u, kernel / sigma)` after `power_iterations` steps from `vector_u`.

        Reads the variables without changing them; `kernel / sigma` is the
        kernel the wrapped layer runs on.
        """
        vector_u, sigma = self._power_iteration()
        return vector_u, self.kernel / ops.maximum(sigma, 1e-12)

    def _power_iteration(self):
        """Returns the advanced `vector_u` and `sigma`, differentiable in the kernel."""
        flat_kernel = ops.reshape(self.kernel, (-1, self.kernel_shape[-1]))
        # The singular vectors are constants for the gradient (as in the paper);
        # only sigma's dependence on the kernel is differentiated.
        frozen = ops.stop_gradient(flat_kernel)
        vector_u = self.vector_u.value
        for _ in range(self.power_iterations):
            vector_v = _unit(ops.matmul(vector_u, ops.transpose(frozen)))
            vector_u = _unit(ops.matmul(vector_v, frozen))
        sigma = ops.sum(ops.matmul(vector_v, flat_kernel) * vector_u)
        return vector_u, sigma


def _unit(vector):
    return vector / ops.sqrt(ops.sum(ops.square(vector)) + 1e-12)
