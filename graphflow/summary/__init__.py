"""gf.summary: summary ops and FileWriter for TensorBoard event files."""
