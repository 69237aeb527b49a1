#!/usr/bin/env python3
"""Pickles of plain values in every protocol (0 to 5), written by Python's own pickle module, with the values they hold.

The checkpoint reader's pickle machine is tested against them: each pickle must give back its value. pickles.json lists
{"name", "protocol", "pickle" (base64), "expected"}, where expected encodes the value with its Python type:
  ["None"], ["bool", b], ["int", "<decimal>"], ["float", "<16 hex digits of the IEEE double, big-endian>"],
  ["str", s], ["bytes", "<base64>"], ["list", [...]], ["tuple", [...]], ["dict", [[key, value], ...]] (OrderedDict too),
  ["set", [...]] (sorted by their JSON text), ["object", "<module.class>", state] (an instance of a class, e.g.
  argparse.Namespace, with the state BUILD gives it).
Three more values check what JSON cannot say: "shared" ([s, s] with s = [1]: one list twice), "cycle" (L = [];
L.append(L)) and "cycle2" (L = []; L += [L, L]).

Run: python3 make_pickle_fixtures.py   (writes pickles.json next to itself; any Python 3.8+, no torch needed)
"""
import argparse
import base64
import collections
import json
import os
import pickle
import struct


def encode(value):
    if value is None:
        return ["None"]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", struct.pack(">d", value).hex()]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, (bytes, bytearray)):
        return ["bytes", base64.b64encode(bytes(value)).decode()]
    if isinstance(value, list):
        return ["list", [encode(v) for v in value]]
    if isinstance(value, tuple):
        return ["tuple", [encode(v) for v in value]]
    if isinstance(value, dict):
        return ["dict", [[encode(k), encode(v)] for k, v in value.items()]]
    if isinstance(value, (set, frozenset)):
        return ["set", sorted((encode(v) for v in value), key=json.dumps)]
    cls = type(value)
    return ["object", f"{cls.__module__}.{cls.__qualname__}", encode(vars(value))]


values = {
    "none": None, "true": True, "false": False,
    "ints": [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**31, 2**63 - 1, -2**63, 2**64, -(2**100)],
    "floats": [1.5, -0.0, float("inf"), float("-inf"), 1e-300, 2.0**-1074, 0.1],
    "strings": ["", "ascii", "ünïcödé ✓ 𝄞", "line\nbreak\ttab\\backslash'quote\"", "x" * 300],
    "bytes": [b"", b"\x00\xff bytes \n", bytes(range(256)) * 2, bytearray(b"bytearray")],
    "containers": [[], (), {}, (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [1, [2, [3, [4]]]]],
    "dict": {"a": 1, "b": [1, 2], "c": {"d": None}},
    "keys": {1: "int key", (1, 2): "tuple key", "s": "str key", None: "None key", 2.5: "float key", b"k": "bytes key"},
    "ordered": collections.OrderedDict([("x", 1), ("y", 2), ("z", [3])]),
    "sets": [set([1, 2, 3]), frozenset(["a"]), set()],
    "namespace": argparse.Namespace(nr_filters=160, order=["s_curve"], dropout_prob=0.5, ours=True),
}
# Beyond the pickler's batches of 1000 items (APPENDS, SETITEMS), and beyond 255 bytes (the short string opcodes).
long_values = {"long list": list(range(1001)), "long dict": {str(i): i for i in range(1001)}}
s = [1]
L = []
L.append(L)
L2 = []
L2 += [L2, L2]
special = {"shared": [s, s], "cycle": L, "cycle2": L2}

entries = []
for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
    for name, value in values.items():
        entries.append({"name": name, "protocol": protocol,
                        "pickle": base64.b64encode(pickle.dumps(value, protocol=protocol)).decode(), "expected": encode(value)})
    if protocol in (0, 2, 4):
        for name, value in long_values.items():
            entries.append({"name": name, "protocol": protocol,
                            "pickle": base64.b64encode(pickle.dumps(value, protocol=protocol)).decode(), "expected": encode(value)})
    for name, value in special.items():
        entries.append({"name": name, "protocol": protocol,
                        "pickle": base64.b64encode(pickle.dumps(value, protocol=protocol)).decode(), "expected": None})

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "pickles.json"), "w") as f:
    json.dump({"python": ".".join(map(str, __import__("sys").version_info[:3])), "entries": entries}, f, separators=(",", ":"))
