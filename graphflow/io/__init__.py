"""Serialisation: CRC32C, TFRecord framing, GraphDefs, checkpoints."""
