"""Tests of graphflow.summary."""
