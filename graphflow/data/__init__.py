"""Bundled data sets, MNIST IDX reader, mini-batch iteration and Dataset."""
