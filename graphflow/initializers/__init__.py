"""gf.initializers: variable initializers."""
