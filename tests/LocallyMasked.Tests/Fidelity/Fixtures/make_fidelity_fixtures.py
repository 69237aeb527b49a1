#!/usr/bin/env python3
"""Fidelity fixtures for LocallyMasked, produced by the paper authors' own PyTorch code.

Run (from any folder; it writes next to itself; a few seconds on two CPU cores, no GPU needed):

    LMCONV_DIR=/tmp/lmconv HILBERTCURVE_DIR=/tmp/hilbertcurve /usr/bin/python3 make_fidelity_fixtures.py

The outputs are deterministic: fixed seeds everywhere, and legacy-format files get reproducible storage names
(see renumber_legacy_storage_keys); a second run rewrites every file byte for byte.

LMCONV_DIR is a checkout of the authors' repository (Jain, Abbeel, Pathak, "Locally Masked Convolution for
Autoregressive Models", UAI 2020: masking.py, gilbert2d.py, model.py, layers.py,
locally_masked_convolution.py, utils.py, main.py). HILBERTCURVE_DIR is a checkout of
github.com/galtay/hilbertcurve at tag v1.0.5, the last release with the API their masking.py calls
(HilbertCurve.coordinates_from_distance; 2.x renamed it), e.g.
    git clone https://github.com/galtay/hilbertcurve && git -C hilbertcurve checkout v1.0.5
Neither is copied here: both are imported at run time. Tested with torch 1.13 and numpy 1.24 (Debian 12's
python3-torch).

Shims applied at run time, and why (none changes a number):
  * matplotlib is stubbed in sys.modules (masking.py imports it for plotting only);
  * numpy.int is set to int when missing (numpy >= 1.24 removed the alias that hilbert_idx uses);
  * torch.Tensor.cuda returns the tensor itself while the likelihoods are evaluated (their mixture losses call
    .cuda() unconditionally on a zeros tensor that is only added to the data);
  * during the two training steps only, the output of their locally masked conv Function is copied (see
    CloneConvOutput: torch >= 1.7 refuses the in-place add their gated block does on it);
  * masks come from masking.get_unfolded_masks on the CPU, never from get_masks (which moves them to CUDA);
  * the model is built by executing main.py's own argparse definition and its model-construction block
    (read from main.py at run time), so the options map to OurPixelCNN exactly as in their training runs.

Outputs (all in this folder):

1. orders.json: the authors' generation orders.
   {"generator": ..., "convention": ..., "orders": [
      {"name": "gilbert2d", "height": 8, "width": 8, "variant": 0, "valid": true, "rows_cols": [[r, c], ...]},
      ...]}
   rows_cols is their index array: entry i is the (row, column) of the pixel generated i-th, exactly what
   masking.get_generation_order_idx(name, height, width) returns (variant 0) or what
   masking.augment_orders(idx, (1, height, width))[variant] returns (variants 1-7: reflect rows, reflect columns,
   reflect both, transpose, transpose+reflect rows, transpose+reflect columns, transpose+reflect both).
   "valid" is false where their array is not a permutation of the height x width grid (their reflections of a
   transposed order use the ORIGINAL height/width, so variants 5-7 of a non-square order leave the grid; main.py
   only ever uses square images with --randomize_order).

2. checkpoints/*.pth: small random-weight models (8x8 images, nr_filters 4, nr_resnet 1, nr_logistic_mix 2)
   built by their model.OurPixelCNN as main.py builds it, every parameter randomized, trained for two Adam steps
   (main.py's optimizer and StepLR scheduler), and saved as main.py saves checkpoints:
   {"test_loss_CxHxW": numpy.float64, "epoch": int, "global_step": int, "args": dict (vars(args) of main.py's
   parser, after main.py's own edits of resize_sizes/resize_probs), "model_state_dict": OrderedDict,
   "optimizer_state_dict": Adam state dict, "ema_state_dict": plain dict with the same keys as the model but
   different values (weights plus noise)}. Files alternate between the zip format and the legacy (pre-1.6)
   format. Also: one file whose model/EMA keys carry the DataParallel "module." prefix, one bare state dict (no
   args), and bad-input files whose args contradict their tensors or name an unknown normalization/order.

3. models.json: the manifest.
   {"generator": ..., "sources_sha256": {file: sha256 of the authors' file used}, "notes": [...],
    "files": [{
      "file": "checkpoints/m01_....pth",
      "format": "zip" | "legacy",
      "kind": "checkpoint" | "bare_state_dict" | "bad_input",
      "key_prefix": "" | "module.",
      "top_level_keys": [...],               # the keys of the saved dict, in order (bare: absent)
      "config": {dataset, binarize, n_bits, input_channels, height, width, nr_filters, nr_resnet,
                 nr_logistic_mix, kernel_size, max_dilation, normalization, learn_weight_for_masks,
                 conv_bias, dropout_prob, likelihood, output_channels},   # what the TENSORS were built with
      "args": {...} | null,                  # the args dict exactly as saved (null for the bare state dict)
      "epoch", "global_step", "test_loss_key", "test_loss" (bits/dim as main.py's test() computes it),
      "state_dict_keys": {name: shape},      # model_state_dict, prefix removed
      "problem": "...", "args_edits": {...}, # bad_input only: what is wrong and which args were changed;
                                             # no likelihoods for those, and their test loss is a placeholder 1.0
      "assumed": "...",                      # bare_state_dict only: what the likelihoods assume
      "loss_function": "binarized_loss" | "discretized_mix_logistic_loss_1d" | "discretized_mix_logistic_loss",
      "images": {"shape": [4, C, 8, 8], "levels": ints, "values": floats},  # values = levels mapped to [-1, 1]
                                                                          # as their rescaling does, in float64
      "orders": [{"index": i, "name": "s_curve", "variant": v, "rows_cols": [[r, c], ...]}, ...],
                                             # the model's orders in main.py's all_generation_idx order
                                             # (after --order_variants selection); variant = augment_orders index
      "nll": {"model": {...}, "ema": {...}}  # for model_state_dict and ema_state_dict weights (bare: model only):
          {"per_order": [[nll of image b under order i for i] for b],   # NEGATIVE log-likelihood in nats,
                                                                         # their loss_op on one image
           "ensemble": [nll of image b],      # -(logsumexp_i(-per_order[b][i]) - log K)
           "ensemble_by_their_averaged_loss": [...],   # their loss_op_averaged on image b, all K outputs
           "ensemble_max_abs_difference": float}
    }]}
   All likelihoods are computed by their code in float64 (model.double(), float64 masks and images, CPU).
"""

import argparse
import collections
import hashlib
import io
import json
import math
import os
import pickle
import pickletools
import struct
import sys
import textwrap
import types

LMCONV_DIR = os.environ.get("LMCONV_DIR")
HILBERTCURVE_DIR = os.environ.get("HILBERTCURVE_DIR")
if not LMCONV_DIR or not HILBERTCURVE_DIR:
    sys.exit("Set LMCONV_DIR (the authors' code) and HILBERTCURVE_DIR (galtay/hilbertcurve v1.0.5); see the top of this file.")

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKPOINT_DIR = os.path.join(HERE, "checkpoints")

# --- Imports of the authors' code, with the shims described above. ---
sys.path.insert(0, HILBERTCURVE_DIR)
sys.path.insert(0, LMCONV_DIR)
_mpl = types.ModuleType("matplotlib")
_mpl.use = lambda *a, **k: None
_plt = types.ModuleType("matplotlib.pyplot")
_mpl.pyplot = _plt
sys.modules.setdefault("matplotlib", _mpl)
sys.modules.setdefault("matplotlib.pyplot", _plt)

import numpy as np  # noqa: E402

if not hasattr(np, "int"):
    np.int = int  # removed in numpy 1.24; masking.hilbert_idx allocates with dtype=np.int

import torch  # noqa: E402
import torch.optim as optim  # noqa: E402
from torch.optim import lr_scheduler  # noqa: E402

import hilbertcurve  # noqa: E402
import locally_masked_convolution  # noqa: E402
import masking  # noqa: E402
import utils as lm_utils  # noqa: E402
from layers import PONO, OrderRescale  # noqa: E402
from model import OurPixelCNN  # noqa: E402

if not hasattr(hilbertcurve.hilbertcurve.HilbertCurve, "coordinates_from_distance"):
    sys.exit("HILBERTCURVE_DIR must hold hilbertcurve 1.x (coordinates_from_distance); check out tag v1.0.5.")

torch.set_num_threads(2)

AUTHORS_FILES = ["main.py", "masking.py", "gilbert2d.py", "model.py", "layers.py",
                 "locally_masked_convolution.py", "utils.py"]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_main_py():
    with open(os.path.join(LMCONV_DIR, "main.py")) as f:
        return f.read()


MAIN_PY = read_main_py()


def main_py_block(start_marker, end_marker):
    """A block of main.py between two markers, dedented, to be executed as their code."""
    start = MAIN_PY.index(start_marker)
    end = MAIN_PY.index(end_marker, start)
    # Start at the beginning of the line so that dedent sees the block's own indentation.
    start = MAIN_PY.rindex("\n", 0, start) + 1
    return textwrap.dedent(MAIN_PY[start:end])


def authors_parser():
    """main.py's argparse parser, built by executing its own definition."""
    code = main_py_block("parser = argparse.ArgumentParser()", "args = parser.parse_args()")
    namespace = {"argparse": argparse}
    exec(compile(code, os.path.join(LMCONV_DIR, "main.py") + " (parser)", "exec"), namespace)
    return namespace["parser"]


PARSER = authors_parser()
MODEL_BLOCK = main_py_block('if args.normalization == "order_rescale":', "all_generation_idx_by_obs = {}")

DATASET_OBS = {"mnist": (1, 28, 28), "cifar": (3, 32, 32)}


def parse_args(argv):
    """vars(args) as main.py holds it when it saves a checkpoint (it edits resize_sizes/resize_probs)."""
    args = PARSER.parse_args(argv)
    if args.dataset == "celebahq":
        dataset_obs = (3, args.celeba_size, args.celeba_size)
    else:
        dataset_obs = DATASET_OBS[args.dataset]
    if args.resize_sizes:
        if not args.resize_probs:
            args.resize_probs = [1. / len(args.resize_sizes)] * len(args.resize_sizes)
        obs = (dataset_obs[0], args.resize_sizes[0], args.resize_sizes[0])
    else:
        args.resize_sizes = [dataset_obs[1]]
        args.resize_probs = [1.]
        obs = dataset_obs
    return args, obs


def build_model(args, input_channels):
    """OurPixelCNN exactly as main.py constructs it (its own code block, executed)."""
    namespace = {"args": args, "input_channels": input_channels, "OrderRescale": OrderRescale, "PONO": PONO,
                 "OurPixelCNN": OurPixelCNN, "logger": lm_utils.logger}
    exec(compile(MODEL_BLOCK, os.path.join(LMCONV_DIR, "main.py") + " (model)", "exec"), namespace)
    return namespace["model"]


def loss_ops(args):
    """main.py's choice of loss_op / loss_op_averaged, with the name of the function behind each."""
    if "mnist" in args.dataset:
        if args.binarize:
            return lm_utils.binarized_loss, lm_utils.binarized_loss_averaged, "binarized_loss"
        return (lm_utils.discretized_mix_logistic_loss_1d, lm_utils.discretized_mix_logistic_loss_1d_averaged,
                "discretized_mix_logistic_loss_1d")
    return (lambda x, l: lm_utils.discretized_mix_logistic_loss(x, l, n_bits=args.n_bits),
            lambda x, ls: lm_utils.discretized_mix_logistic_loss_averaged(x, ls, n_bits=args.n_bits),
            "discretized_mix_logistic_loss")


def generation_orders(args, obs):
    """main.py's all_generation_idx for one observation shape, with (name, variant) labels."""
    labelled = []
    for order in args.order:
        base = masking.get_generation_order_idx(order, obs[1], obs[2])
        if args.base_order_transpose:
            base = masking.transpose(base)
        if args.base_order_reflect_rows:
            base = masking.reflect_rows(base, obs)
        if args.base_order_reflect_cols:
            base = masking.reflect_cols(base, obs)
        if args.randomize_order:
            labelled.extend((order, v, idx) for v, idx in enumerate(masking.augment_orders(base, obs)))
        else:
            labelled.append((order, 0, base))
    if args.order_variants:
        labelled = [labelled[i] for i in args.order_variants]
    return labelled


def rows_cols(idx):
    return [[int(r), int(c)] for r, c in idx]


def cpu_masks(generation_idx, obs, args, dtype):
    """(mask_init, mask_undilated, mask_dilated) as get_masks makes them, on the CPU, without plotting."""
    h, w, k = obs[1], obs[2], args.kernel_size
    init = masking.get_unfolded_masks(generation_idx, h, w, k=k, dilation=1, mask_type="A").to(dtype)
    undilated = masking.get_unfolded_masks(generation_idx, h, w, k=k, dilation=1, mask_type="B").to(dtype)
    if args.max_dilation == 1:
        dilated = undilated
    else:
        dilated = masking.get_unfolded_masks(generation_idx, h, w, k=k, dilation=args.max_dilation,
                                             mask_type="B").to(dtype)
    return init, undilated, dilated


class CpuOnly:
    """Lets their losses call .cuda() on the CPU (they move a zeros tensor that is only added to the data)."""

    def __enter__(self):
        self.saved = torch.Tensor.cuda
        torch.Tensor.cuda = lambda self, *a, **k: self
        return self

    def __exit__(self, *exc):
        torch.Tensor.cuda = self.saved


class CloneConvOutput:
    """While training: their conv Function returns a view of its result, and their gated block adds the skip
    input into it in place when the feature normalization is the identity (none, weight_norm). torch 1.3, their
    version, allowed that; torch >= 1.7 refuses it in autograd. A copy of the output keeps every number the same."""

    def __enter__(self):
        function = locally_masked_convolution._locally_masked_conv2d
        self.saved = function.__dict__["forward"]
        inner = self.saved.__func__

        def forward(ctx, *args, **kwargs):
            return inner(ctx, *args, **kwargs).clone()

        function.forward = staticmethod(forward)
        return self

    def __exit__(self, *exc):
        locally_masked_convolution._locally_masked_conv2d.forward = self.saved


class DefaultDtype:
    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.saved = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)

    def __exit__(self, *exc):
        torch.set_default_dtype(self.saved)


def image_levels(rng, batch, obs, bits, binarize):
    """Pixel levels of a test batch; both extreme levels occur so that the edge cases of the loss are used."""
    top = 1 if binarize else 2 ** bits - 1
    levels = rng.randint(0, top + 1, size=(batch,) + tuple(obs))
    levels[0, 0, 0, 0] = 0
    levels[0, 0, 0, 1] = top
    levels[-1, -1, -1, -1] = top
    levels[-1, -1, -1, -2] = 0
    return levels


def rescale(levels, bits, binarize, dataset):
    """Levels to the [-1, 1] values their data pipeline produces (in float64)."""
    if binarize:
        return levels.astype(np.float64) * 2. - 1.
    if dataset == "celebahq" and bits < 8:
        return (2. / (2. ** bits - 1)) * levels.astype(np.float64) - 1.
    return (levels.astype(np.float64) / 255. - .5) * 2.


def randomize_parameters(model, gen):
    """Moves every parameter well away from its default initialization, keeping the network well conditioned."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight_g"):
                p.mul_(0.6 + 0.8 * torch.rand(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.add_(0.15 * torch.randn(p.shape, generator=gen))
            elif name.endswith("mask_weight"):
                p.add_(0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.add_(0.3 * p.std() * torch.randn(p.shape, generator=gen))


def noisy_copy(state_dict, gen):
    """An EMA-like state dict: the same keys, every value different (relative noise; weight_g stays positive)."""
    ema = {}
    for name, value in state_dict.items():
        noise = torch.randn(value.shape, generator=gen)
        if name.endswith("weight_g"):
            ema[name] = (value * (1. + 0.1 * noise).abs()).clone()
        else:
            scale = float(value.abs().mean()) if value.numel() > 0 else 1.
            ema[name] = (value + 0.1 * max(scale, 1e-3) * noise).clone()
    return ema


def train_two_steps(model, args, obs, labelled, seed):
    """Two Adam steps as main.py takes them (random order per batch, loss_op, Adam + StepLR), in float32."""
    loss_op, _, _ = loss_ops(args)
    optimizer = optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=args.lr_decay)
    rng = np.random.RandomState(seed + 17)
    all_masks = [cpu_masks(idx, obs, args, torch.float32) for _, _, idx in labelled]
    model.train()
    with CpuOnly(), CloneConvOutput():
        for _ in range(2):
            levels = rng.randint(0, 2 if args.binarize else 2 ** args.n_bits, size=(args.batch_size,) + tuple(obs))
            x = torch.tensor(rescale(levels, args.n_bits, args.binarize, args.dataset), dtype=torch.float32)
            order_i = rng.randint(len(all_masks))
            mask_init, mask_undilated, mask_dilated = all_masks[order_i]
            output = model(x, mask_init=mask_init, mask_undilated=mask_undilated, mask_dilated=mask_dilated)
            loss = loss_op(x, output)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    scheduler.step()
    model.eval()
    return optimizer


def evaluate(args, obs, state_dict, labelled, x64):
    """Per-image, per-order NLL (nats) and the ensemble, by their model and losses in float64 on the CPU."""
    loss_op, loss_op_averaged, _ = loss_ops(args)
    with DefaultDtype(torch.float64):
        model = build_model(args, obs[0])
    model.load_state_dict(state_dict)
    model.double().eval()
    outputs = []
    with torch.no_grad(), CpuOnly(), DefaultDtype(torch.float64):
        for _, _, idx in labelled:
            mask_init, mask_undilated, mask_dilated = cpu_masks(idx, obs, args, torch.float64)
            outputs.append(model(x64, mask_init=mask_init, mask_undilated=mask_undilated, mask_dilated=mask_dilated))
        per_order, ensemble, averaged = [], [], []
        for b in range(x64.shape[0]):
            xb = x64[b:b + 1]
            nll = [float(loss_op(xb, out[b:b + 1])) for out in outputs]
            per_order.append(nll)
            k = len(nll)
            log_p = torch.tensor([-v for v in nll], dtype=torch.float64)
            ensemble.append(float(-(torch.logsumexp(log_p, 0) - math.log(k))))
            averaged.append(float(loss_op_averaged(xb, [out[b:b + 1] for out in outputs])))
    for row in per_order:
        for v in row:
            assert math.isfinite(v), "a non-finite NLL"
    diff = max(abs(a - b) for a, b in zip(ensemble, averaged))
    return {"per_order": per_order, "ensemble": ensemble, "ensemble_by_their_averaged_loss": averaged,
            "ensemble_max_abs_difference": diff}


def likelihood_of(args, input_channels):
    if args.binarize:
        return "binarized", 2
    if input_channels == 1:
        return "grey_logistic_mixture", 3 * args.nr_logistic_mix
    return "rgb_logistic_mixture", 10 * args.nr_logistic_mix


# --- The models. Heads: (dataset flags, description). ---
HEADS = {
    "bin": ["-d", "mnist", "--binarize", "--resize_sizes", "8"],
    "grey": ["-d", "mnist", "--resize_sizes", "8"],
    "rgb8": ["-d", "cifar", "--resize_sizes", "8"],
    "rgb5": ["-d", "celebahq", "--celeba_size", "8", "--n_bits", "5"],
}
HEAD_ORDER = ["bin", "grey", "rgb8", "rgb5"]

# (orders, randomize_order, order_variants); cycled over the models.
ORDER_PLANS = [
    (["s_curve"], True, None),
    (["gilbert2d"], True, None),
    (["raster_scan"], False, None),
    (["hilbert"], True, None),
    (["s_curve", "gilbert2d"], True, None),
    (["s_curve_center_quarter_last"], True, None),
    (["s_curve", "hilbert"], False, None),
    (["s_curve"], True, [1, 6]),
    (["raster_scan", "s_curve"], True, [0, 3, 9, 12]),
]


def model_specs():
    specs = []
    norms = ["none", "weight_norm", "order_rescale", "pono"]
    combos = [(False, True), (False, False), (True, True), (True, False)]  # (learned mask weight, bias)
    n = 0
    for ni, norm in enumerate(norms):
        for ci, (mw, bias) in enumerate(combos):
            n += 1
            specs.append(dict(tag=f"m{n:02d}", head=HEAD_ORDER[(ni + ci) % 4], norm=norm, mw=mw, bias=bias,
                              k=3, d=2, dropout=0.5 if ci % 2 == 0 else 0.0,
                              fmt="legacy" if ci in (1, 2) else "zip", plan=ORDER_PLANS[(n - 1) % len(ORDER_PLANS)]))
    extra = [
        dict(head="rgb8", norm="pono", mw=False, bias=True, k=5, d=2, fmt="zip"),
        dict(head="bin", norm="pono", mw=False, bias=True, k=3, d=3, fmt="legacy"),
        dict(head="grey", norm="order_rescale", mw=True, bias=True, k=5, d=3, fmt="legacy"),
        dict(head="rgb5", norm="none", mw=False, bias=True, k=3, d=3, fmt="zip"),
        dict(head="bin", norm="weight_norm", mw=True, bias=False, k=3, d=1, fmt="zip"),
    ]
    for e in extra:
        n += 1
        e.update(tag=f"m{n:02d}", dropout=0.0, plan=ORDER_PLANS[(n - 1) % len(ORDER_PLANS)])
        specs.append(e)
    return specs


def argv_of(spec, seed, exp_id):
    orders, randomize, variants = spec["plan"]
    argv = ["--ours", "--disable_wandb", "-s", str(seed), "-ID", str(exp_id), "-n", "4", "-q", "1", "-m", "2",
            "-b", "4", "--ema", "0.9995", "-k", str(spec["k"]), "-md", str(spec["d"]), "-nm", spec["norm"],
            "-dp", str(spec["dropout"]), "--order"] + list(orders) + HEADS[spec["head"]]
    if randomize:
        argv.append("--randomize_order")
    if variants:
        argv += ["--order_variants"] + [str(v) for v in variants]
    if spec["mw"]:
        argv.append("--learn_weight_for_masks")
    if not spec["bias"]:
        argv.append("--no_bias")
    return argv


def file_name(spec):
    parts = [spec["tag"], spec["head"], spec["norm"].replace("_", ""), f"k{spec['k']}d{spec['d']}"]
    if spec["mw"]:
        parts.append("mw")
    if not spec["bias"]:
        parts.append("nobias")
    return "_".join(parts) + ".pth"


def save(obj, path, fmt):
    if fmt == "legacy":
        torch.save(obj, path, _use_new_zipfile_serialization=False)
        renumber_legacy_storage_keys(path)
    else:
        torch.save(obj, path)


def renumber_legacy_storage_keys(path):
    """Makes a legacy file reproducible. torch names its storages by memory address (str(storage._cdata)) and
    writes them sorted by that name, so both the names and the order of the data blocks change from run to run.

    Each name becomes a decimal number, by first use in the pickled object (as the zip format names them); the
    storage-name list is written again as torch writes it (sorted as strings, pickle protocol 2) and the data
    blocks follow in that order. Protocol 2 has no frames or offsets, so only the renamed strings change."""
    with open(path, "rb") as f:
        data = f.read()
    stream = io.BytesIO(data)
    for _ in range(3):  # magic number, protocol version, system info
        pickle.load(stream)
    start = stream.tell()
    for opcode, _, position in pickletools.genops(stream):  # the object itself, up to its STOP
        if opcode.name == "STOP":
            stream.seek(position + 1)
            break
    object_end = stream.tell()
    keys = pickle.load(stream)
    region = data[start:object_end]
    # Every tensor here is float32 (4-byte elements); check it, since the block sizes depend on it.
    assert region.count(b"Storage\n") == region.count(b"FloatStorage\n"), "a storage that is not float32"
    blocks = {}
    for key in keys:
        (count,) = struct.unpack("<q", stream.read(8))
        blocks[key] = struct.pack("<q", count) + stream.read(4 * count)
    assert stream.read() == b"", "bytes after the last storage"

    def encoded(key):
        return b"X" + struct.pack("<I", len(key)) + key.encode()

    first_use = sorted(keys, key=lambda k: region.index(encoded(k)))
    renamed = {key: str(number) for number, key in enumerate(first_use)}
    for key, new_key in renamed.items():
        region = region.replace(encoded(key), encoded(new_key))
    new_keys = sorted(renamed.values())
    old_of = {v: k for k, v in renamed.items()}
    with open(path, "wb") as f:
        f.write(data[:start] + region + pickle.dumps(new_keys, protocol=2))
        for new_key in new_keys:
            f.write(blocks[old_of[new_key]])


def make_model(spec, index):
    seed = 1000 + index
    args, obs = parse_args(argv_of(spec, seed, index))
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(seed)
    model = build_model(args, obs[0])
    randomize_parameters(model, gen)
    labelled = generation_orders(args, obs)
    optimizer = train_two_steps(model, args, obs, labelled, seed)
    return args, obs, model, optimizer, labelled, gen


def describe_config(args, obs):
    likelihood, out_channels = likelihood_of(args, obs[0])
    return {"dataset": args.dataset, "binarize": args.binarize, "n_bits": args.n_bits, "input_channels": obs[0],
            "height": obs[1], "width": obs[2], "nr_filters": args.nr_filters, "nr_resnet": args.nr_resnet,
            "nr_logistic_mix": args.nr_logistic_mix, "kernel_size": args.kernel_size,
            "max_dilation": args.max_dilation, "normalization": args.normalization,
            "learn_weight_for_masks": args.learn_weight_for_masks, "conv_bias": not args.no_bias,
            "dropout_prob": args.dropout_prob, "likelihood": likelihood, "output_channels": out_channels}


def state_of(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def checkpoint_entry(spec, index, kind="checkpoint", prefix=""):
    args, obs, model, optimizer, labelled, gen = make_model(spec, index)
    name = spec.get("file") or file_name(spec)
    path = os.path.join(CHECKPOINT_DIR, name)
    model_sd = model.state_dict()
    ema_sd = noisy_copy(model_sd, gen)

    rng = np.random.RandomState(5000 + index)
    levels = image_levels(rng, 4, obs, args.n_bits, args.binarize)
    values = rescale(levels, args.n_bits, args.binarize, args.dataset)
    x64 = torch.tensor(values, dtype=torch.float64)
    _, _, loss_name = loss_ops(args)
    nll_model = evaluate(args, obs, state_of(model), labelled, x64)
    # A bare state dict has no EMA weights.
    nll_ema = evaluate(args, obs, ema_sd, labelled, x64) if kind != "bare_state_dict" else None

    obs_str = "x".join(map(str, obs))
    # main.py's test(): summed averaged loss / (images * dims * ln 2); a numpy float64, as in their files.
    test_loss = np.float64(sum(nll_model["ensemble_by_their_averaged_loss"])) / (
        x64.shape[0] * np.prod(obs) * np.log(2.))
    entry = {"file": "checkpoints/" + name, "format": spec["fmt"], "kind": kind, "key_prefix": prefix,
             "config": describe_config(args, obs)}
    if kind == "bare_state_dict":
        save(model_sd, path, spec["fmt"])
        entry.update(args=None, assumed=spec["assumed"])
    else:
        save_dict = collections.OrderedDict()
        save_dict[f"test_loss_{obs_str}"] = test_loss
        save_dict["epoch"] = 0
        save_dict["global_step"] = 2
        save_dict["args"] = vars(args)
        if prefix:
            save_dict["model_state_dict"] = collections.OrderedDict((prefix + k, v) for k, v in model_sd.items())
            ema_saved = {prefix + k: v for k, v in ema_sd.items()}
        else:
            save_dict["model_state_dict"] = model_sd
            ema_saved = ema_sd
        save_dict["optimizer_state_dict"] = optimizer_state(optimizer, spec["fmt"])
        save_dict["ema_state_dict"] = ema_saved
        save(dict(save_dict), path, spec["fmt"])
        entry.update(args=jsonable(vars(args)), top_level_keys=list(save_dict.keys()), epoch=0, global_step=2,
                     test_loss_key=f"test_loss_{obs_str}", test_loss=float(test_loss))
    verify_saved(path, model_sd, ema_sd, kind, prefix)
    entry.update(
        state_dict_keys={k: list(v.shape) for k, v in model_sd.items()},
        loss_function=loss_name,
        images={"shape": list(levels.shape), "levels": levels.tolist(), "values": values.tolist()},
        orders=[{"index": i, "name": n, "variant": v, "rows_cols": rows_cols(idx)}
                for i, (n, v, idx) in enumerate(labelled)],
        nll={"model": nll_model, "ema": nll_ema} if nll_ema else {"model": nll_model})
    return entry


def optimizer_state(optimizer, fmt):
    """Adam's state dict; in legacy-format files each 'step' is an int, as torch < 1.12 (the authors' 1.3) kept it."""
    state = optimizer.state_dict()
    if fmt == "legacy":
        for per_param in state["state"].values():
            per_param["step"] = int(per_param["step"])
    return state


def verify_saved(path, model_sd, ema_sd, kind, prefix):
    loaded = torch.load(path)
    sd = loaded if kind == "bare_state_dict" else loaded["model_state_dict"]
    for k, v in model_sd.items():
        assert torch.equal(sd[prefix + k], v), k
    if kind != "bare_state_dict":
        for k, v in ema_sd.items():
            assert torch.equal(loaded["ema_state_dict"][prefix + k], v), k


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


BAD_INPUTS = [
    # (file, spec of the tensors, args edits, what is wrong)
    ("bad_args_kernel_size.pth", dict(head="bin", norm="pono", mw=False, bias=True, k=3, d=2, fmt="zip"),
     {"kernel_size": 5}, "args say kernel_size 5 but every conv weight is 3x3"),
    ("bad_args_mask_weight.pth", dict(head="grey", norm="pono", mw=True, bias=True, k=3, d=2, fmt="legacy"),
     {"learn_weight_for_masks": False}, "args say learn_weight_for_masks False but every conv has a mask_weight"),
    ("bad_args_weight_norm.pth", dict(head="rgb8", norm="none", mw=False, bias=True, k=3, d=2, fmt="zip"),
     {"normalization": "weight_norm"},
     "args say normalization weight_norm but the convs hold plain weight tensors (no weight_g/weight_v)"),
    ("bad_args_nr_logistic_mix.pth", dict(head="grey", norm="pono", mw=False, bias=True, k=3, d=2, fmt="legacy"),
     {"nr_logistic_mix": 3}, "args say nr_logistic_mix 3 but the grey head nin_out has 6 = 3 x 2 outputs"),
    ("bad_args_no_bias.pth", dict(head="bin", norm="none", mw=False, bias=True, k=3, d=2, fmt="legacy"),
     {"no_bias": True}, "args say no_bias True but every conv has a bias"),
    ("bad_args_unknown_normalization.pth",
     dict(head="bin", norm="pono", mw=False, bias=True, k=3, d=2, fmt="zip"),
     {"normalization": "batch_norm"}, "args name the normalization 'batch_norm', which main.py does not know"),
    ("bad_args_unknown_order.pth", dict(head="rgb8", norm="pono", mw=False, bias=True, k=3, d=2, fmt="legacy"),
     {"order": ["zigzag"]}, "args name the order 'zigzag', which is not one of main.py's orders"),
]


def bad_entry(file, spec, edits, problem, index):
    spec = dict(spec, tag=f"b{index:02d}", dropout=0.0, plan=(["s_curve"], True, None))
    args, obs, model, _, _, _ = make_model(spec, index)
    saved_args = vars(args)
    saved_args.update(edits)
    save_dict = collections.OrderedDict()
    save_dict["test_loss_" + "x".join(map(str, obs))] = np.float64(1.0)
    save_dict["epoch"] = 0
    save_dict["global_step"] = 2
    save_dict["args"] = saved_args
    save_dict["model_state_dict"] = model.state_dict()
    # Kept small: Adam and StepLR as main.py makes them but before any step (state {}), and an EMA dict that
    # shares the model's tensors (saved once). These files only test that contradictions are reported.
    fresh = optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    lr_scheduler.StepLR(fresh, step_size=1, gamma=args.lr_decay)
    save_dict["optimizer_state_dict"] = fresh.state_dict()
    save_dict["ema_state_dict"] = dict(model.state_dict())
    path = os.path.join(CHECKPOINT_DIR, file)
    save(dict(save_dict), path, spec["fmt"])
    return {"file": "checkpoints/" + file, "format": spec["fmt"], "kind": "bad_input", "key_prefix": "",
            "problem": problem, "args_edits": jsonable(edits), "config": describe_config(args, obs),
            "args": jsonable(saved_args), "top_level_keys": list(save_dict.keys()),
            "state_dict_keys": {k: list(v.shape) for k, v in model.state_dict().items()}}


# --- orders.json ---
ORDER_SIZES = [
    ("raster_scan", [(8, 8), (6, 10), (5, 7), (28, 28)]),
    ("s_curve", [(8, 8), (6, 10), (7, 9), (28, 28), (32, 32)]),
    ("gilbert2d", [(8, 8), (28, 28), (32, 32), (6, 10), (10, 6), (5, 7), (7, 5), (32, 24), (24, 32), (13, 17),
                   (1, 6), (9, 1), (2, 2), (3, 3), (4, 4), (16, 16)]),
    ("hilbert", [(2, 2), (4, 4), (8, 8), (16, 16), (32, 32)]),
    ("s_curve_center_quarter_last", [(8, 8), (28, 28), (32, 32), (30, 30), (7, 9), (3, 3)]),
]
ORDER_VARIANTS = [("s_curve", 8, 8), ("gilbert2d", 8, 8), ("gilbert2d", 6, 10), ("hilbert", 8, 8),
                  ("raster_scan", 5, 7), ("s_curve_center_quarter_last", 8, 8)]


def is_permutation(idx, h, w):
    seen = set()
    for r, c in idx:
        if not (0 <= r < h and 0 <= c < w) or (r, c) in seen:
            return False
        seen.add((r, c))
    return len(seen) == h * w


def order_record(name, h, w, variant, idx):
    valid = is_permutation(idx, h, w) if variant < 4 else is_permutation(idx, w, h)
    return {"name": name, "height": h, "width": w, "variant": variant, "valid": valid, "rows_cols": rows_cols(idx)}


def make_orders():
    records = []
    for name, sizes in ORDER_SIZES:
        for h, w in sizes:
            records.append(order_record(name, h, w, 0, masking.get_generation_order_idx(name, h, w)))
    for name, h, w in ORDER_VARIANTS:
        base = masking.get_generation_order_idx(name, h, w)
        for v, idx in enumerate(masking.augment_orders(base, (1, h, w))):
            if v > 0:
                records.append(order_record(name, h, w, v, idx))
    return records


def write_json(path, header, list_key, items):
    """One list item per line: diffable and still compact."""
    with open(path, "w") as f:
        f.write("{\n")
        for key, value in header.items():
            f.write(f"  {json.dumps(key)}: {json.dumps(value)},\n")
        f.write(f"  {json.dumps(list_key)}: [\n")
        for i, item in enumerate(items):
            f.write("    " + json.dumps(item, separators=(",", ":")) + ("," if i + 1 < len(items) else "") + "\n")
        f.write("  ]\n}\n")


def main():
    os.makedirs(CHECKPOINT_DIR, exist_ok=True)
    sources = {f: sha256(os.path.join(LMCONV_DIR, f)) for f in AUTHORS_FILES}
    generator = ("make_fidelity_fixtures.py with the authors' code (LMCONV_DIR), hilbertcurve "
                 f"{hilbertcurve.__version__ if hasattr(hilbertcurve, '__version__') else '?'}, "
                 f"torch {torch.__version__}, numpy {np.__version__}")

    write_json(os.path.join(HERE, "orders.json"),
               {"generator": generator, "sources_sha256": sources,
                "convention": "rows_cols[i] = [row, column] of the pixel generated i-th, as returned by "
                              "masking.get_generation_order_idx (variant 0) or masking.augment_orders "
                              "(variants 1-7, obs = (1, height, width)); variants 4-7 are transposed (width x "
                              "height); valid = the array is a permutation of that grid"},
               "orders", make_orders())

    entries = []
    index = 0
    for spec in model_specs():
        index += 1
        entries.append(checkpoint_entry(spec, index))
        print("wrote", entries[-1]["file"], flush=True)

    index += 1
    prefixed = dict(tag="p01", head="bin", norm="pono", mw=False, bias=True, k=3, d=2, dropout=0.0, fmt="zip",
                    plan=(["s_curve"], True, None), file="p01_dataparallel_prefix_bin_pono_k3d2.pth")
    entries.append(checkpoint_entry(prefixed, index, prefix="module."))
    print("wrote", entries[-1]["file"], flush=True)

    index += 1
    bare = dict(tag="s01", head="rgb8", norm="pono", mw=False, bias=True, k=3, d=2, dropout=0.0, fmt="legacy",
                plan=(["s_curve"], True, None), file="s01_bare_state_dict_rgb8_pono_k3d2.pth",
                assumed="no args in the file: the released models' settings (pono, kernel 3, max dilation 2, conv "
                        "bias, no learned mask weight, RGB 8-bit, 2 mixtures), 8 S-curve variants")
    entries.append(checkpoint_entry(bare, index, kind="bare_state_dict"))
    print("wrote", entries[-1]["file"], flush=True)

    for file, spec, edits, problem in BAD_INPUTS:
        index += 1
        entries.append(bad_entry(file, spec, edits, problem, index))
        print("wrote", entries[-1]["file"], flush=True)

    notes = [
        "nll values are NEGATIVE log-likelihoods in nats, per image, as their loss functions return them "
        "(binarized_loss: F.cross_entropy(reduction='sum'); discretized_mix_logistic_loss(_1d): -sum of "
        "log_sum_exp over mixtures). Their *_averaged functions return -sum over the batch of log of the mean "
        "likelihood over orders; here they are called on one image at a time.",
        "Images: 'levels' are integers (0/1 binarized, 0..2^n_bits-1 otherwise); 'values' are their [-1, 1] "
        "values: binarized 2*level-1, MNIST/CIFAR (level/255-0.5)*2, CelebA n_bits<8 (2/(2^n_bits-1))*level-1.",
        "The 8x8 image size is not in the tensors: mnist/cifar models get it from args.resize_sizes = [8], "
        "celebahq models from args.celeba_size = 8 (main.py then sets resize_sizes = [8]).",
        "ema_state_dict: the model weights plus noise (a plain dict, as their EMA class keeps it), so that a "
        "loader can be told apart by the likelihoods. Their own EMA.update returns inside its loop and so only "
        "ever updates the first key; with the default --ema 1 main.py has no 'ema' object and every checkpoint "
        "save fails with a NameError that it logs, so their saved files all come from runs with --ema < 1.",
        "test_loss_CxHxW is a numpy.float64 (main.py divides a float by a numpy denominator), pickled as "
        "numpy.core.multiarray.scalar.",
        "optimizer_state_dict: torch.optim.Adam after two steps with StepLR (param_groups carry initial_lr). In "
        "zip-format files each 'step' is a float tensor (torch >= 1.12); in legacy-format files it is an int, as "
        "torch < 1.12 (the authors pinned 1.3) stored it.",
        "bad_input files carry an Adam state from before any step ('state': {}) and an ema_state_dict whose "
        "tensors are the model's own (stored once), to keep the fixtures small.",
        "The orders of each model follow main.py: for each name in args.order, its index array, then (with "
        "randomize_order) its 8 augment_orders variants; then args.order_variants picks entries of that list.",
    ]
    write_json(os.path.join(HERE, "models.json"),
               {"generator": generator, "sources_sha256": sources, "notes": notes},
               "files", entries)
    total = sum(os.path.getsize(os.path.join(CHECKPOINT_DIR, f)) for f in os.listdir(CHECKPOINT_DIR))
    print(f"{len(entries)} checkpoint files, {total} bytes")


if __name__ == "__main__":
    main()
