#!/usr/bin/env python3
"""Valid torch.save files (zip format) whose tensors are not contiguous, as PyTorch writes views.

torch.save keeps a view's layout: the whole storage it looks into, its storage offset and its strides. A reader that
assumes contiguous tensors at offset 0 refuses such files or reads wrong values. Two fixtures:

1. strided_views.pth, a bare dict of views of every kind, and strided_views.json, their values (flattened in row-major
   order) and shapes as torch itself reads them back:
     transposed  base.t()                       strides (1, 4)
     sliced      base[1:, ::2]                  offset 4, strides (4, 2)
     offset      base.view(-1)[5:9]             offset 5, one storage shared with 'base'
     expanded    tensor([3.5]).expand(2, 3)     strides (0, 0)
     permuted    float64 3-d tensor permuted    strides of another order
     base        the 3x4 float32 storage the first three share
2. strided_m01.pth: the fidelity fixture m01_bin_none_k3d2.pth (a full checkpoint of the authors' main.py) with every
   weight of two or more dimensions replaced by a non-contiguous tensor of the same values
   (w.transpose(0, 1).contiguous().transpose(0, 1)), and every 1-d weight by a slice at an offset of a larger storage.
   It must load into the same model with the same weights, args and all.

Run: /usr/bin/python3 make_strided_checkpoints.py   (writes next to itself; needs torch, tested with 1.13)
"""
import json
import os

import torch

here = os.path.dirname(os.path.abspath(__file__))

base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 1
cube = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4).sin()
views = {
    "transposed": base.t(),
    "sliced": base[1:, ::2],
    "offset": base.view(-1)[5:9],
    "expanded": torch.tensor([3.5]).expand(2, 3),
    "permuted": cube.permute(2, 0, 1),
    "base": base,
}
assert not views["transposed"].is_contiguous() and views["offset"].storage_offset() == 5
torch.save(views, os.path.join(here, "strided_views.pth"))
read = torch.load(os.path.join(here, "strided_views.pth"))
with open(os.path.join(here, "strided_views.json"), "w") as f:
    json.dump({k: {"shape": list(v.shape), "values": v.reshape(-1).tolist(), "stride": list(v.stride()),
                   "offset": v.storage_offset()} for k, v in read.items()}, f, indent=1)

source = os.path.join(here, "..", "..", "Fidelity", "Fixtures", "checkpoints", "m01_bin_none_k3d2.pth")
checkpoint = torch.load(source)
state = checkpoint["model_state_dict"]
for key in list(state):
    w = state[key]
    if w.dim() >= 2:
        strided = w.transpose(0, 1).contiguous().transpose(0, 1)
        assert not strided.is_contiguous() or w.shape[0] == 1 or w.shape[1] == 1
    else:
        larger = torch.empty(w.numel() + 7, dtype=w.dtype)
        larger[3:3 + w.numel()] = w.reshape(-1)
        strided = larger[3:3 + w.numel()].view(w.shape)
        assert strided.storage_offset() == 3
    assert torch.equal(strided, w)
    state[key] = strided
torch.save(checkpoint, os.path.join(here, "strided_m01.pth"))
