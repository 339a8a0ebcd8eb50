"""Devices: where kernels run (numpy on CPU, CuPy on CUDA), their array namespaces and transfers."""
from .device import Device, available_devices, get_device

__all__ = ["Device", "available_devices", "get_device"]
