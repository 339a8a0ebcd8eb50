"""gf.nn: activations, losses, normalisation, convolution and pooling."""
