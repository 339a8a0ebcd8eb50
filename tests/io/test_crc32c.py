"""Tests for graphflow.io.crc32c against published CRC-32C vectors and independent implementations."""
import importlib
import os
import random

import pytest

from graphflow.io import crc32c as crc32c_module
from graphflow.io.crc32c import crc32c, mask, masked_crc32c, unmask


def bitwise_crc32c(data: bytes) -> int:
    """Bit-at-a-time CRC-32C straight from the definition (reflected 0x82F63B78, init and final xor 0xFFFFFFFF)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


# RFC 3720 (iSCSI), appendix B.4, plus the classic check value and the empty string.
PUBLISHED_VECTORS = [
    (b"", 0x00000000),
    (b"123456789", 0xE3069283),
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
    (
        bytes.fromhex(
            "01c00000000000000000000000000000"
            "14000000000004000000001400000018"
            "28000000000000000200000000000000"
        ),
        0xD9963A56,
    ),
]

IMPLEMENTATIONS = [crc32c, crc32c_module._crc32c_python]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("data, expected", PUBLISHED_VECTORS)
def test_published_vectors(implementation, data, expected):
    assert implementation(data) == expected


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_matches_bitwise_definition_for_every_tail_length(implementation):
    generator = random.Random(1234)
    # Lengths 0..40 exercise every remainder after the 8-byte fast loop, plus a larger block.
    for length in list(range(41)) + [1000, 4099]:
        data = bytes(generator.getrandbits(8) for _ in range(length))
        assert implementation(data) == bitwise_crc32c(data), length


def test_accepts_bytearray_and_memoryview():
    assert crc32c(bytearray(b"123456789")) == 0xE3069283
    assert crc32c(memoryview(b"123456789")) == 0xE3069283


def test_masked_vector_from_tensorboard():
    # tensorboard/data/server/masked_crc.rs: the masked CRC of an Event holding only file_version.
    assert masked_crc32c(b"\x1a\x11CRC test, one two") == 0x5794D08A


def test_mask_formula_and_unmask_roundtrip():
    generator = random.Random(99)
    for _ in range(1000):
        crc = generator.getrandbits(32)
        rotated = ((crc >> 15) | (crc << 17)) & 0xFFFFFFFF
        assert mask(crc) == (rotated + 0xA282EAD8) & 0xFFFFFFFF
        assert unmask(mask(crc)) == crc
    assert unmask(masked_crc32c(b"abc")) == crc32c(b"abc")


def test_matches_tensorboard_pure_python_implementation():
    pywrap = importlib.import_module("tensorboard.compat.tensorflow_stub.pywrap_tensorflow")
    for length in (0, 1, 7, 8, 9, 63, 64, 65, 1000):
        data = os.urandom(length)
        assert masked_crc32c(data) == pywrap.masked_crc32c(data)
