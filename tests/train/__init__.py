"""Tests for graphflow.train."""
