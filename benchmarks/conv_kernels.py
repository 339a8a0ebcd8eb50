"""Speed of graphflow's conv kernels (forward, backprop-input, backprop-filter) next to numpy's sgemm on equal GEMMs.

Run from the repository root: python -m benchmarks.conv_kernels [--repeats 5]

Each kernel's GFLOP/s counts 2 * M * K * N for its GEMM (M = batch * out_h * out_w pixels, K = kH * kW * Cin,
N = Cout, in the order the kernel multiplies them) and is printed next to numpy's float32 matmul on contiguous
operands of the same shape: the ratio is what im2col, folding and blocking cost on top of the GEMM.
"""

import argparse

import numpy as np

from benchmarks.timing import median_seconds, sgemm_gflops

from graphflow.ops.conv_math import (conv2d_backprop_filter_nhwc, conv2d_backprop_input_nhwc, conv2d_nhwc,
                                     resolve_padding_2d)

# (name, batch, height, width, in_channels, kernel, out_channels, stride); SAME padding. The strided layer shows
# backprop-input's column-folding path; the stride-1 layers (but the first) run it as a flipped-filter convolution.
LAYERS = [
    ("28x28x1->32 5x5", 64, 28, 28, 1, 5, 32, 1),
    ("14x14x32->64 5x5", 64, 14, 14, 32, 5, 64, 1),
    ("56x56x64->64 3x3", 32, 56, 56, 64, 3, 64, 1),
    ("28x28x128->128 3x3", 32, 28, 28, 128, 3, 128, 1),
    ("56x56x64->128 3x3 s2", 32, 56, 56, 64, 3, 128, 2),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median reported)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'layer':24} {'batch':>5} {'kernel':>16} {'GEMM (M, K, N)':>24} {'GFLOP/s':>8} {'sgemm':>7} {'ratio':>6}")
    for name, batch, height, width, channels, kernel, out_channels, stride in LAYERS:
        x = rng.standard_normal((batch, height, width, channels), dtype=np.float32)
        w = rng.standard_normal((kernel, kernel, channels, out_channels), dtype=np.float32)
        strides = (stride, stride)
        (out_h, out_w), pads = resolve_padding_2d((height, width), (kernel, kernel), strides, (1, 1), "SAME")
        dy = rng.standard_normal((batch, out_h, out_w, out_channels), dtype=np.float32)
        conv = dict(strides=strides, dilations=(1, 1), pads=pads)
        m, k, n = batch * out_h * out_w, kernel * kernel * channels, out_channels
        runs = [
            ("forward", (m, k, n), lambda: conv2d_nhwc(x, w, **conv)),
            ("backprop_input", (m, n, k), lambda: conv2d_backprop_input_nhwc(dy, w, x.shape, **conv)),
            ("backprop_filter", (k, m, n), lambda: conv2d_backprop_filter_nhwc(x, dy, w.shape, **conv)),
        ]
        for kernel_name, gemm, function in runs:
            gflops = 2e-9 * m * k * n / median_seconds(function, args.repeats)
            reference = sgemm_gflops(*gemm, args.repeats, rng)
            print(f"{name:24} {batch:5} {kernel_name:>16} {str(gemm):>24} {gflops:8.1f} {reference:7.1f} "
                  f"{gflops / reference:6.0%}")


if __name__ == "__main__":
    main()
