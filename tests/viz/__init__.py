"""Tests of graphflow.viz."""
