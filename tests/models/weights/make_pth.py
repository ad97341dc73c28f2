#!/usr/bin/env python3
"""Writes .pth files laid out as torch.save writes them (zip of <name>/data.pkl, <name>/data/<key>,
<name>/version, <name>/byteorder; pickle protocol 2; persistent ids
('storage', torch.<Type>Storage, key, location, numel)) without needing PyTorch: stand-in classes
are registered under the torch module names so that pickle emits the same GLOBALs.

usage: make_pth.py OUT_DIR   -> state.pth, nested.pth, zip64.pth, overrun.pth, evil_system.pth,
                                 evil_eval.pth,
                                 expected.json (name -> dtype, shape, flat values in logical order)
"""
import collections
import json
import os
import pickle
import struct
import sys
import types
import zipfile

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


def _rebuild_parameter(*args):
    raise RuntimeError("never called")


for fn in (_rebuild_tensor_v2, _rebuild_parameter):
    fn.__module__ = "torch._utils"
    setattr(torch_utils, fn.__name__, fn)

STORAGES = {"FloatStorage": ("f", 4, "F32"), "HalfStorage": ("e", 2, "F16"),
            "BFloat16Storage": (None, 2, "BF16"), "LongStorage": ("q", 8, "I64")}
for name in STORAGES:
    cls = type(name, (), {})
    cls.__module__ = "torch"
    setattr(torch, name, cls)


class Storage:
    def __init__(self, kind, key, values):
        self.kind, self.key, self.values = kind, key, list(values)

    def raw(self):
        fmt, _, _ = STORAGES[self.kind]
        if self.kind == "BFloat16Storage":  # the upper half of each float32
            return b"".join(struct.pack("<f", v)[2:] for v in self.values)
        return struct.pack("<%d%s" % (len(self.values), fmt), *self.values)


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce_ex__(self, proto):
        return (_rebuild_tensor_v2, (self.storage, self.offset, tuple(self.size), tuple(self.stride),
                                     False, collections.OrderedDict()))

    def logical_values(self):
        out = []

        def rec(dim, base):
            if dim == len(self.size):
                out.append(self.storage.values[base])
                return
            for i in range(self.size[dim]):
                rec(dim + 1, base + i * self.stride[dim])
        rec(0, self.offset)
        return out


class Parameter:
    def __init__(self, t):
        self.t = t

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.t, True, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch, obj.kind), obj.key, "cpu", len(obj.values))
        return None


def write_archive(path, obj, storages, record="archive", pickle_bytes=None):
    import io
    if pickle_bytes is None:
        buf = io.BytesIO()
        TorchPickler(buf, protocol=2).dump(obj)
        pickle_bytes = buf.getvalue()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(record + "/data.pkl", pickle_bytes)
        z.writestr(record + "/byteorder", "little")
        for s in storages:
            z.writestr(record + "/data/" + s.key, s.raw())
        z.writestr(record + "/version", "3\n")


def expected_of(tensors):
    out = {}
    for name, t in tensors.items():
        t = t.t if isinstance(t, Parameter) else t
        out[name] = {"dtype": STORAGES[t.storage.kind][2], "shape": list(t.size),
                     "values": t.logical_values()}
    return out


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    s0 = Storage("FloatStorage", "0", [0.5 * i - 3 for i in range(12)])
    s1 = Storage("HalfStorage", "1", [1.0, -2.5, 0.125, 1024.0])
    s2 = Storage("BFloat16Storage", "2", [1.5, -2.0, 0.25, 3.0, 96.0, -0.0078125])
    s3 = Storage("LongStorage", "3", [7, -1, 1 << 40])
    s4 = Storage("FloatStorage", "4", [10.0 + i for i in range(6)])
    tensors = collections.OrderedDict()
    tensors["encoder.weight"] = Tensor(s0, 0, [3, 4], [4, 1])
    tensors["encoder.weight_t"] = Tensor(s0, 0, [4, 3], [1, 4])        # a transposed view
    tensors["encoder.row"] = Tensor(s0, 8, [4], [1])                     # storage offset
    tensors["head.bias"] = Parameter(Tensor(s4, 0, [6], [1]))           # nn.Parameter
    tensors["norm.half"] = Tensor(s1, 0, [2, 2], [2, 1])
    tensors["norm.bf16"] = Tensor(s2, 0, [2, 3], [3, 1])
    tensors["pos.ids"] = Tensor(s3, 0, [3], [1])
    tensors["scalar"] = Tensor(s4, 5, [], [])
    storages = [s0, s1, s2, s3, s4]
    state = collections.OrderedDict(tensors)
    state._metadata = collections.OrderedDict({"": {"version": 1}})   # as nn.Module.state_dict()
    write_archive(os.path.join(out_dir, "state.pth"), state, storages, record="state")

    nested = {"model": collections.OrderedDict([("layers", [Tensor(s4, 0, [2], [1]), Tensor(s4, 2, [2], [1])]),
                                                ("proj.weight", Tensor(s0, 0, [2, 2], [4, 1]))]),
              "epoch": 7, "note": "trained"}
    write_archive(os.path.join(out_dir, "nested.pth"), nested, [s0, s4])

    # A tensor reaching past its storage (elements 4..9 of a 6-element storage).
    write_archive(os.path.join(out_dir, "overrun.pth"),
                  collections.OrderedDict(w=Tensor(s4, 4, [6], [1])), [s4])

    # zip64 records everywhere (as for checkpoints past 4 GB), by lowering zipfile's limits.
    saved = (zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT)
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 0, 0
    try:
        write_archive(os.path.join(out_dir, "zip64.pth"), state, storages)
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved

    class EvilSystem:
        def __reduce__(self):
            return (os.system, ("touch " + os.path.join(out_dir, "PWNED"),))

    class EvilEval:
        def __reduce__(self):
            return (eval, ("open(%r, 'w')" % os.path.join(out_dir, "PWNED"),))

    write_archive(os.path.join(out_dir, "evil_system.pth"), None, [],
                  pickle_bytes=pickle.dumps({"weight": EvilSystem()}, protocol=2))
    write_archive(os.path.join(out_dir, "evil_eval.pth"), None, [],
                  pickle_bytes=pickle.dumps(collections.OrderedDict(w=EvilEval()), protocol=2))

    expected = {"state.pth": expected_of(tensors)}
    expected["nested.pth"] = {
        "model.layers.0": {"dtype": "F32", "shape": [2], "values": [10.0, 11.0]},
        "model.layers.1": {"dtype": "F32", "shape": [2], "values": [12.0, 13.0]},
        "model.proj.weight": {"dtype": "F32", "shape": [2, 2], "values": [-3.0, -2.5, -1.0, -0.5]}}
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1])
