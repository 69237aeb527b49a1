"""Fixtures for the PixelCNN++ baseline: tiny random-weight models built by the authors' own baseline.py.

The paper's authors (ajayjain/lmconv) train their PixelCNN++ baseline with main.py (without --ours), which builds
baseline.PixelCNN. This script imports THEIR code at run time from the folder named by the environment variable
LMCONV_DIR (nothing of it is copied here), builds small models, randomizes every parameter (weight_v, weight_g and
biases), and writes for each model:

  baseline_<name>.pth         torch.save in the zip format (torch >= 1.6)
  baseline_<name>_legacy.pth  the same object in the legacy format (_use_new_zipfile_serialization=False; the
                              storages are named 0, 1, ... instead of by memory address, so that reruns give
                              the same bytes)

Both hold what main.py saves: a dict with model_state_dict, optimizer_state_dict (a fresh Adam: the real layout
without moments, which would triple the size), ema_state_dict (their utils.EMA, registered before the randomization
and updated once after it: their EMA.update returns inside its loop, so only the first key moves), epoch,
global_step and args (a dict of their command-line arguments). baseline_manifest.json lists per model: the configuration, the key names and shapes of
model_state_dict in order, 4 test images (exact bin centres in [-1, 1], with their integer levels), the per-pixel
and per-image log-likelihoods in nats computed by THEIR loss functions in float64 (model.double(), eval mode, one
image per call; their losses return negative sums), and the network output for image 0.

Models (8x8 images, 4 filters, 1 block per stage, 2 mixture components; 8x8 is the smallest size whose two
stride-2 downsamplings come back up to the input size): rgb8 (3 channels, 8 bits), rgb5 (3 channels, 5 bits),
grey (1 channel, 8 bits) and binary. baseline.py has no binary head (its nin_out has 3 x mixtures outputs for one
channel and main.py's binarized loss asserts 2), so the binary model is their network with nin_out replaced by
their nin(F, 2): the head our Binary likelihood uses. The manifest marks it; it is written in the legacy format
only, to keep the fixtures small (about 1.3 MB in all).

Run (deterministic; torch 1.13 CPU, numpy):
    LMCONV_DIR=/tmp/lmconv /usr/bin/python3 make_baseline_fixtures.py
"""
import json
import os
import pickle
import sys
import types

# main.py's imports that baseline.py, layers.py and utils.py do not need.
for _name in ["matplotlib", "matplotlib.pyplot", "hilbertcurve", "hilbertcurve.hilbertcurve", "wandb",
              "tensorboardX", "IPython"]:
    sys.modules.setdefault(_name, types.ModuleType(_name))

LMCONV_DIR = os.environ.get("LMCONV_DIR")
if not LMCONV_DIR or not os.path.isfile(os.path.join(LMCONV_DIR, "baseline.py")):
    sys.exit("Set LMCONV_DIR to a checkout of ajayjain/lmconv (the folder holding baseline.py).")
sys.path.insert(0, LMCONV_DIR)

import numpy as np  # noqa: E402
import torch  # noqa: E402

# Their losses allocate with .cuda(); on this CPU-only run that is the identity.
torch.Tensor.cuda = lambda self, *args, **kwargs: self

import baseline  # noqa: E402
import layers  # noqa: E402
import utils  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
HEIGHT = WIDTH = 8
IMAGES_PER_MODEL = 4

MODELS = [
    # name, image channels, bits, filters, blocks per stage, mixtures, likelihood
    ("rgb8", 3, 8, 4, 1, 2, "rgb"),
    ("rgb5", 3, 5, 4, 1, 2, "rgb"),
    ("grey", 1, 8, 4, 1, 2, "grey"),
    ("binary", 1, 1, 4, 1, 2, "binary"),
]


def save_legacy(obj, path):
    """torch.save(obj, path, _use_new_zipfile_serialization=False) with storages named 0, 1, 2, ... in first-use order.

    The legacy writer names each storage by its memory address (str(storage._cdata)) and writes the data sorted by
    those names, so two runs differ in bytes. Here its pickler renames them in the order the pickle meets them, and
    the sorting (torch.serialization's module-level name 'sorted', used by the legacy writer) follows the new names.
    The file layout is unchanged: the same pickles, the same records, torch.load reads it as before.
    """
    names = {}

    def rename(key):
        return names.setdefault(key, str(len(names)))

    class Pickler(pickle.Pickler):
        def __setattr__(self, name, value):
            if name == "persistent_id":
                inner = value

                def value(o):
                    pid = inner(o)
                    if pid is None:
                        return None
                    tag, storage_type, key, location, numel, view = pid
                    if view is not None:
                        view = (rename(view[0]),) + tuple(view[1:])
                    return (tag, storage_type, rename(key), location, numel, view)
            super().__setattr__(name, value)

    def dump(value, f, protocol):
        if isinstance(value, list):  # the list of storage names written before the data
            value = [rename(k) for k in value]
        pickle.dump(value, f, protocol=protocol)

    module = types.SimpleNamespace(Pickler=Pickler, dump=dump, __name__="pickle")
    torch.serialization.sorted = lambda keys: sorted(keys, key=lambda k: int(rename(k)))
    try:
        torch.save(obj, path, pickle_module=module, _use_new_zipfile_serialization=False)
    finally:
        del torch.serialization.sorted
    loaded = torch.load(path)
    assert all(torch.equal(loaded["model_state_dict"][k], v) for k, v in obj["model_state_dict"].items())
    assert all(torch.equal(loaded["ema_state_dict"][k], v) for k, v in obj["ema_state_dict"].items())


def their_args(channels, bits, filters, blocks, mixtures, likelihood):
    """vars(args) as main.py would store it for this run (a subset of its parser, all at their defaults otherwise)."""
    return {
        "data_dir": "data", "save_dir": "models",
        "dataset": {"rgb": "celebahq" if bits != 8 else "cifar", "grey": "mnist", "binary": "mnist"}[likelihood],
        "binarize": likelihood == "binary", "n_bits": bits if likelihood != "binary" else 8,
        "ours": False, "nr_resnet": blocks, "nr_filters": filters, "nr_logistic_mix": mixtures,
        "lr": 0.0002, "lr_decay": 0.999995, "batch_size": 64, "seed": 1, "ema": 0.9995,
        "kernel_size": 5, "max_dilation": 2, "dropout_prob": 0.5, "normalization": "weight_norm",
        "two_stream": False, "order": None, "mode": "train", "exp_id": 0, "rematerialize": False,
    }


def randomize(model, generator):
    """Moderate random values for every parameter: directions N(0, 1), magnitudes U(0.4, 1.2), biases U(-0.3, 0.3)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight_v"):
                p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64))
            elif name.endswith("weight_g"):
                p.copy_(0.4 + 0.8 * torch.rand(p.shape, generator=generator, dtype=torch.float64))
            elif name.endswith("bias"):
                p.copy_(0.6 * torch.rand(p.shape, generator=generator, dtype=torch.float64) - 0.3)
            else:
                raise RuntimeError("unexpected parameter " + name)


def test_levels(rs, channels, bits):
    top = 2 ** bits - 1
    levels = rs.randint(0, top + 1, size=(IMAGES_PER_MODEL, channels, HEIGHT, WIDTH))
    levels[0, :, 0, :] = 0        # a row at the lower edge bin
    levels[1, :, -1, :] = top     # a row at the upper edge bin
    levels[2, 0, :, 0] = top      # a column: red (or grey) at the top, the rest random
    return levels


def per_pixel_log_probs(likelihood, bits, x, out):
    """Their per-pixel log-likelihood (1, H, W), summed over channels."""
    if likelihood == "rgb":
        return utils.log_sum_exp(utils.discretized_mix_logistic_log_probs(x, out, n_bits=bits))
    if likelihood == "grey":
        return utils.log_sum_exp(utils.discretized_mix_logistic_log_probs_1d(x, out))
    return utils._binarized_log_probs(x, out).squeeze(-1)


def loss_op(likelihood, bits, x, out):
    """main.py's loss_op for this dataset (a negative sum over the batch)."""
    if likelihood == "rgb":
        return utils.discretized_mix_logistic_loss(x, out, n_bits=bits)
    if likelihood == "grey":
        return utils.discretized_mix_logistic_loss_1d(x, out)
    return utils.binarized_loss(x, out)


def min_interior_bin_probability(likelihood, bits, x, out, mixtures):
    """Diagnostic: the smallest interior-bin probability of any component (their loss falls back below 1e-5)."""
    if likelihood == "binary":
        return None
    xp = x.permute(0, 2, 3, 1)
    lp = out.permute(0, 2, 3, 1)
    c = xp.shape[-1]
    rest = lp[..., mixtures:].reshape(*xp.shape, -1)
    means = rest[..., :mixtures].clone()
    log_scales = rest[..., mixtures:2 * mixtures].clamp(min=-7.0)
    if likelihood == "rgb":
        coeffs = torch.tanh(rest[..., 2 * mixtures:3 * mixtures])
        means[..., 1, :] = means[..., 1, :] + coeffs[..., 0, :] * xp[..., 0:1]
        means[..., 2, :] = means[..., 2, :] + coeffs[..., 1, :] * xp[..., 0:1] + coeffs[..., 2, :] * xp[..., 1:2]
    half = 1.0 / (2 ** bits - 1)
    centered = xp.unsqueeze(-1) - means
    inv = torch.exp(-log_scales)
    delta = torch.sigmoid(inv * (centered + half)) - torch.sigmoid(inv * (centered - half))
    interior = (xp.unsqueeze(-1).abs() <= 0.999).expand_as(delta)
    return float(delta[interior].min()) if interior.any() else None


def build(name, channels, bits, filters, blocks, mixtures, likelihood, seed):
    torch.manual_seed(seed)
    model = baseline.PixelCNN(nr_resnet=blocks, nr_filters=filters, nr_logistic_mix=mixtures,
                              input_channels=channels)
    if likelihood == "binary":
        model.nin_out = layers.nin(filters, 2)
    ema = utils.EMA(0.9995)
    ema.register(model)
    generator = torch.Generator().manual_seed(seed + 1000)
    randomize(model, generator)
    ema.update(model)

    # A fresh Adam: its state_dict has the real layout (state, param_groups) but no moments, which would triple
    # the files; the readers' skipping of optimizer moments is covered by the legacy checkpoint fixtures.
    optimizer = torch.optim.Adam(model.parameters(), lr=0.0002)
    return model, optimizer, ema


def compact_json(manifest):
    """One line per model entry and per image, so that the file stays small but diffs stay readable."""
    lines = ["{"]
    top = [(k, v) for k, v in manifest.items() if k != "models"]
    for k, v in top:
        lines.append("  %s: %s," % (json.dumps(k), json.dumps(v)))
    lines.append('  "models": [')
    for m, model in enumerate(manifest["models"]):
        lines.append("    {")
        fields = [(k, v) for k, v in model.items() if k != "images"]
        for k, v in fields:
            lines.append("      %s: %s," % (json.dumps(k), json.dumps(v, separators=(",", ":"))))
        lines.append('      "images": [')
        for i, image in enumerate(model["images"]):
            comma = "," if i + 1 < len(model["images"]) else ""
            lines.append("        %s%s" % (json.dumps(image, separators=(",", ":")), comma))
        lines.append("      ]")
        lines.append("    }" + ("," if m + 1 < len(manifest["models"]) else ""))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    manifest = {
        "generator": "make_baseline_fixtures.py (their baseline.py, layers.py, utils.py imported from LMCONV_DIR)",
        "torch": torch.__version__,
        "height": HEIGHT,
        "width": WIDTH,
        "models": [],
    }
    for index, (name, channels, bits, filters, blocks, mixtures, likelihood) in enumerate(MODELS):
        model, optimizer, ema = build(name, channels, bits, filters, blocks, mixtures, likelihood,
                                       seed=11 + index)
        checkpoint = {
            "epoch": 3,
            "global_step": 4 * (index + 1),
            "args": their_args(channels, bits, filters, blocks, mixtures, likelihood),
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(),
            "ema_state_dict": ema.state_dict(),
        }
        # Both formats for their three models; the binary variant (not buildable by baseline.py) in the legacy
        # format only, to stay under the fixtures' size budget.
        files = {"legacy": "baseline_%s_legacy.pth" % name}
        save_legacy(checkpoint, os.path.join(HERE, files["legacy"]))
        if likelihood != "binary":
            files["zip"] = "baseline_%s.pth" % name
            torch.save(checkpoint, os.path.join(HERE, files["zip"]))

        keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
        dropouts = sorted({m.p for m in model.modules() if isinstance(m, torch.nn.Dropout2d)})

        model = model.double().eval()
        rs = np.random.RandomState(100 + index)
        if likelihood == "binary":
            levels = rs.randint(0, 2, size=(IMAGES_PER_MODEL, 1, HEIGHT, WIDTH))
            levels[0, :, 0, :] = 0
            levels[1, :, -1, :] = 1
            images = torch.from_numpy(levels.astype(np.float64) * 2.0 - 1.0)
        else:
            levels = test_levels(rs, channels, bits)
            images = (2.0 / (2 ** bits - 1)) * torch.from_numpy(levels.astype(np.float64)) - 1.0
        entries = []
        min_bin = []
        output0 = None
        with torch.no_grad():
            for i in range(IMAGES_PER_MODEL):
                x = images[i:i + 1]
                out = model(x)
                assert out.dtype == torch.float64
                nll = float(loss_op(likelihood, bits, x, out))
                per_pixel = per_pixel_log_probs(likelihood, bits, x, out)[0]
                assert abs(float(per_pixel.sum()) + nll) <= 1e-9 * abs(nll), (name, i)
                entries.append({
                    "levels": levels[i].reshape(-1).tolist(),
                    "values": x.reshape(-1).tolist(),
                    "log_likelihood": -nll,
                    "log_likelihood_per_pixel": per_pixel.reshape(-1).tolist(),
                })
                min_bin.append(min_interior_bin_probability(likelihood, bits, x, out, mixtures))
                if i == 0:
                    output0 = out[0].reshape(-1).tolist()

        manifest["models"].append({
            "name": name,
            "files": files,
            "image_channels": channels,
            "bits": bits,
            "likelihood": likelihood,
            "filters": filters,
            "residual_blocks": blocks,
            "mixture_components": mixtures,
            "parameter_channels": int(model.nin_out.dim_out),
            "head_replaced": likelihood == "binary",
            "dropout_in_model": dropouts,
            "dropout_prob_arg": checkpoint["args"]["dropout_prob"],
            "state_dict": keys,
            "min_interior_bin_probability": [m for m in min_bin if m is not None] or None,
            "output_image0": output0,
            "images": entries,
        })
        print("%-7s %d keys, %d parameters, NLL %s" % (
            name, len(keys), sum(p.numel() for p in model.parameters()),
            ", ".join("%.4f" % -e["log_likelihood"] for e in entries)))

    with open(os.path.join(HERE, "baseline_manifest.json"), "w") as f:
        f.write(compact_json(manifest))


if __name__ == "__main__":
    main()
