"""Initializers usable with get_variable: zeros, ones, constant, random, glorot, he, variance_scaling."""

__all__: list = []
