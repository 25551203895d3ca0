"""Training on the negative log-likelihood only: shared by every model."""

import keras


class FixedNLLTraining:
    """Mixin for `keras.Model`s that always train on their own negative
    log-likelihood (nats/image) and report bits/dim: `compile()` takes no
    loss or metrics, and a `.keras` file restores the optimizer alone."""

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Configure training; the loss is always the NLL in nats/image.

        Args:
            optimizer: a Keras optimizer or its name. Defaults to `"adam"`.
            **kwargs: other `keras.Model.compile` arguments
                (`jit_compile`, `steps_per_execution`, ...).
        """
        if loss is not None or metrics is not None:
            raise ValueError(
                "Invalid value for argument `loss`/`metrics`. "
                f"{type(self).__name__} always trains on its negative "
                "log-likelihood (nats/image) and reports bits/dim; call "
                f"compile() without them. Received: loss={loss!r}, "
                f"metrics={metrics!r}"
            )
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        # Restores the optimizer (and its state) of a `.keras` file; the
        # loss and metrics are fixed, so they are not part of the config.
        config = keras.saving.deserialize_keras_object(config)
        for key in ("loss", "metrics", "loss_weights", "weighted_metrics"):
            config.pop(key, None)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)
