"""One model trained and tuned the protocol's way: models, batches, callbacks, keras-tuner."""
