"""Device objects: a name, an array namespace `xp`, host transfers, and the table of devices this machine has."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np


class Device:
    """A place kernels run. `put` moves a host (numpy) array onto the device, `get` brings one back."""

    kind = "cpu"

    def __init__(self, name: str, xp: Any):
        self.name = name
        self.xp = xp

    def put(self, array: Any) -> Any:
        return array

    def get(self, array: Any) -> Any:
        return array

    def synchronize(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<Device {self.name}>"


class CPUDevice(Device):
    """numpy on the host. Devices other than /cpu:0 copy on transfer, so placement is testable without a GPU."""

    def __init__(self, index: int):
        super().__init__(f"/cpu:{index}", np)
        self._copies = index != 0

    def put(self, array: Any) -> Any:
        if self._copies and isinstance(array, np.ndarray):
            return array.copy()
        return array


class CUDADevice(Device):
    """CuPy on an NVIDIA GPU (cuBLAS for matmul, cuDNN-backed routines where CuPy uses them)."""

    kind = "gpu"

    def __init__(self, index: int, cupy: Any):
        super().__init__(f"/gpu:{index}", cupy)
        self._index = index

    def put(self, array: Any) -> Any:
        with self.xp.cuda.Device(self._index):
            return self.xp.asarray(array)

    def get(self, array: Any) -> Any:
        if isinstance(array, self.xp.ndarray):
            return self.xp.asnumpy(array)
        return array

    def synchronize(self) -> None:
        self.xp.cuda.Device(self._index).synchronize()


NUM_CPU_DEVICES = 2
_DEVICES: Dict[str, Device] = {}


def _discover() -> Dict[str, Device]:
    if not _DEVICES:
        for i in range(NUM_CPU_DEVICES):
            _DEVICES[f"/cpu:{i}"] = CPUDevice(i)
        try:
            import cupy  # optional: only where CUDA and CuPy are installed

            for i in range(cupy.cuda.runtime.getDeviceCount()):
                _DEVICES[f"/gpu:{i}"] = CUDADevice(i, cupy)
        except Exception:  # no CuPy, no driver or no GPU: CPU only
            pass
    return _DEVICES


def available_devices() -> List[str]:
    """Names of the devices kernels can run on here: '/cpu:0', '/cpu:1' and '/gpu:N' for each CUDA GPU."""
    return list(_discover())


def get_device(name: str) -> Device:
    devices = _discover()
    if name not in devices:
        raise KeyError(name)
    return devices[name]
