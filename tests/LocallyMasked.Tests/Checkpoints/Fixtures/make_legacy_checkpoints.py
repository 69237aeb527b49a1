"""Writes checkpoints in the legacy (torch < 1.6, non-zip) torch.save format without needing torch.

The published Locally Masked PixelCNN++ checkpoints were saved by torch 1.3.1 (the reference code's pin), whose
torch.save writes: pickles (protocol 2) of the magic number, the protocol version and the system info; the object,
its storages replaced by persistent ids ('storage', torch.FloatStorage, key, location, numel, view_metadata) and its
tensors by torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks); the sorted list of
storage keys; then per key an int64 element count and the little-endian data.

This script fakes the torch and numpy globals so that Python's own pickle writes exactly those opcodes. It builds the
state dict of a tiny grey-scale model (4 filters, 1 block per stage, 2 mixtures, kernel 3, PONO) with the published
key names; every value is float32(0.3 * sin(0.37 * t + 0.011 * i)) for the t-th key (sorted) and element i, so the
C# test can recompute them. nin_out.lin_a.weight_g and nin_out.lin_a.bias share one storage (offsets 0 and 6).

Run: python3 make_legacy_checkpoints.py  (writes legacy_full.pth and legacy_bare.pth next to itself)
"""
import argparse
import collections
import math
import os
import pickle
import struct
import sys
import types

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


class FloatStorage:
    pass


FloatStorage.__module__ = "torch"
torch.FloatStorage = FloatStorage


def _rebuild_tensor_v2(*args):
    raise RuntimeError("only for pickling")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils

numpy = types.ModuleType("numpy")
numpy_core = types.ModuleType("numpy.core")
numpy_multiarray = types.ModuleType("numpy.core.multiarray")


class dtype:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (dtype, (self.code, False, True), (3, "<", None, None, None, -1, -1, 0))


dtype.__module__ = "numpy"
numpy.dtype = dtype


def scalar(*args):
    raise RuntimeError("only for pickling")


scalar.__module__ = "numpy.core.multiarray"
numpy_multiarray.scalar = scalar
numpy.core = numpy_core
numpy_core.multiarray = numpy_multiarray
sys.modules["numpy"] = numpy
sys.modules["numpy.core"] = numpy_core
sys.modules["numpy.core.multiarray"] = numpy_multiarray


class Float64:
    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        return (scalar, (dtype("f8"), struct.pack("<d", self.value)))


class Storage:
    def __init__(self, key, values):
        self.key = key
        self.values = values


class Tensor:
    def __init__(self, storage, offset, size):
        self.storage, self.offset, self.size = storage, offset, tuple(size)
        stride, step = [], 1
        for s in reversed(self.size):
            stride.insert(0, step)
            step *= s
        self.stride = tuple(stride)

    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))


def shapes(f=4, c=1, r=1, m=6):
    out = {}

    def conv(prefix, i, o):
        out[prefix + ".weight"] = (o, i, 3, 3)
        out[prefix + ".bias"] = (o,)

    def nin(prefix, i, o):
        out[prefix + ".lin_a.weight_v"] = (o, i)
        out[prefix + ".lin_a.weight_g"] = (o, 1)
        out[prefix + ".lin_a.bias"] = (o,)

    conv("u_init", c + 1, f)
    for s in range(3):
        for b in range(r):
            conv("up_layers.%d.u_stream.%d.conv_input" % (s, b), 2 * f, f)
            conv("up_layers.%d.u_stream.%d.conv_out" % (s, b), 2 * f, 2 * f)
    for s in range(3):
        for b in range(r if s == 0 else r + 1):
            conv("down_layers.%d.u_stream.%d.conv_input" % (s, b), 2 * f, f)
            conv("down_layers.%d.u_stream.%d.conv_out" % (s, b), 2 * f, 2 * f)
            nin("down_layers.%d.u_stream.%d.nin_skip" % (s, b), 2 * f, f)
    for i in range(2):
        conv("downsize_u_stream.%d" % i, f, f)
        conv("upsize_u_stream.%d" % i, f, f)
    nin("nin_out", f, m)
    return out


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def values_of(t, n):
    return [struct.unpack("<f", struct.pack("<f", 0.3 * math.sin(0.37 * t + 0.011 * i)))[0] for i in range(n)]


def write(path, prefix, full):
    shape_of = shapes()
    keys = sorted(shape_of)
    storages = []
    state = collections.OrderedDict()
    shared = None
    for t, key in enumerate(keys):
        vals = values_of(t, numel(shape_of[key]))
        if key == "nin_out.lin_a.weight_g":
            shared = Storage("shared", vals + [0.0] * 6)
            storages.append(shared)
            state[prefix + key] = Tensor(shared, 0, shape_of[key])
            continue
        if key == "nin_out.lin_a.bias":
            continue
        storage = Storage("s%d" % t, vals)
        storages.append(storage)
        state[prefix + key] = Tensor(storage, 0, shape_of[key])
    bias_t = keys.index("nin_out.lin_a.bias")
    shared.values[6:] = values_of(bias_t, 6)
    state[prefix + "nin_out.lin_a.bias"] = Tensor(shared, 6, (6,))
    state._metadata = collections.OrderedDict([("", {"version": 1}), ("u_init", {"version": 1})])

    if full:
        moment = Storage("adam", values_of(99, 8))
        storages.append(moment)
        obj = {
            "epoch": 159,
            "global_step": 123456,
            "test_loss": Float64(2.887),
            "model_state_dict": state,
            "optimizer_state_dict": {
                "state": {140001: {"step": 5, "exp_avg": Tensor(moment, 0, (4, 2))}},
                "param_groups": [{"lr": 0.0002, "betas": (0.9, 0.999), "eps": 1e-08, "params": [140001]}],
            },
            "args": argparse.Namespace(dataset="mnist", nr_filters=4, order="s_curve", randomize_order=True),
        }
    else:
        obj = state

    def persistent_id(o):
        if isinstance(o, Storage):
            return ("storage", FloatStorage, o.key, "cuda:0", len(o.values), None)
        return None

    with open(path, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
        pickler = pickle.Pickler(f, protocol=2)
        pickler.persistent_id = persistent_id
        pickler.dump(obj)
        by_key = {s.key: s for s in storages}
        ordered = sorted(by_key)
        pickle.dump(ordered, f, protocol=2)
        for key in ordered:
            vals = by_key[key].values
            f.write(struct.pack("<q", len(vals)))
            f.write(struct.pack("<%df" % len(vals), *vals))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    write(os.path.join(here, "legacy_full.pth"), "module.", True)
    write(os.path.join(here, "legacy_bare.pth"), "", False)
