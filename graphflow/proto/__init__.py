"""Generated protobuf modules (TensorFlow-compatible wire formats); regenerate with protos/generate.py."""
