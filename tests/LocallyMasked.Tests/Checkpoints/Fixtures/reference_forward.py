"""Independent pure-Python forward pass of the Locally Masked PixelCNN++ (PONO variant) for the fixture weights.

Written from the reference code's semantics (ajayjain/lmconv ours.py / layers.py / utils.py) with plain loops and
floats: no torch, no numpy, nothing shared with the C# implementation. Weights are the values of
make_legacy_checkpoints.py (tiny grey model: 4 filters, 1 block per stage, 2 mixtures, kernel 3, dilation 2).
Input: one 6x6 grey image, x[p] = ((37 p) mod 256) * 2 / 255 - 1. Order: S-curve (even rows left to right, odd rows
right to left). Writes reference_forward.json: the network output (6 x 36) and the per-pixel log-likelihoods (36).

Run: python3 reference_forward.py
"""
import json
import math
import os

from make_legacy_checkpoints import shapes, values_of, numel

H = W = 6
F = 4
K = 3
DIL = 2
MIX = 2


def load_weights():
    shape_of = shapes()
    keys = sorted(shape_of)
    return {key: (values_of(t, numel(shape_of[key])), shape_of[key]) for t, key in enumerate(keys)}


WEIGHTS = load_weights()


def s_curve_ranks():
    seq = []
    for r in range(H):
        cols = range(W) if r % 2 == 0 else range(W - 1, -1, -1)
        seq.extend(r * W + c for c in cols)
    ranks = [0] * (H * W)
    for i, p in enumerate(seq):
        ranks[p] = i
    return ranks


RANKS = s_curve_ranks()


def lmconv(x, key, dilation, include_centre):
    """x: list of channels, each a list of H*W values. Weight (O, C, 3, 3) row-major."""
    w, wshape = WEIGHTS[key + ".weight"]
    b, _ = WEIGHTS[key + ".bias"]
    out_c, in_c = wshape[0], wshape[1]
    out = [[0.0] * (H * W) for _ in range(out_c)]
    for p in range(H * W):
        r, c = divmod(p, W)
        taps = []
        for ki in range(K):
            for kj in range(K):
                rr, cc = r + (ki - 1) * dilation, c + (kj - 1) * dilation
                if not (0 <= rr < H and 0 <= cc < W):
                    continue
                q = rr * W + cc
                visible = RANKS[q] < RANKS[p] or (include_centre and ki == 1 and kj == 1)
                if visible:
                    taps.append((ki * K + kj, q))
        for o in range(out_c):
            total = b[o]
            for ci in range(in_c):
                base = (o * in_c + ci) * K * K
                xc = x[ci]
                for t, q in taps:
                    total += w[base + t] * xc[q]
            out[o][p] = total
    return out


def pono(x):
    n = len(x)
    out = [[0.0] * (H * W) for _ in range(n)]
    for p in range(H * W):
        vals = [x[c][p] for c in range(n)]
        mean = sum(vals) / n
        var = sum((v - mean) ** 2 for v in vals) / (n - 1)
        for c in range(n):
            out[c][p] = (vals[c] - mean) / math.sqrt(var + 1e-5)
    return out


def elu(v):
    return v if v > 0 else math.exp(v) - 1.0


def concat_elu(x):
    return [[elu(v) for v in ch] for ch in x] + [[elu(-v) for v in ch] for ch in x]


def nin(x, key):
    v, vshape = WEIGHTS[key + ".lin_a.weight_v"]
    g, _ = WEIGHTS[key + ".lin_a.weight_g"]
    b, _ = WEIGHTS[key + ".lin_a.bias"]
    out_c, in_c = vshape
    out = []
    for o in range(out_c):
        row = v[o * in_c:(o + 1) * in_c]
        norm = math.sqrt(sum(a * a for a in row))
        scale = [g[o] * a / norm for a in row]
        out.append([b[o] + sum(scale[i] * x[i][p] for i in range(in_c)) for p in range(H * W)])
    return out


def add(a, b):
    return [[u + v for u, v in zip(ca, cb)] for ca, cb in zip(a, b)]


def gated(u, key, skip=None):
    t = pono(lmconv(concat_elu(u), key + ".conv_input", 1, True))
    if skip is not None:
        t = add(t, nin(concat_elu(skip), key + ".nin_skip"))
    t = lmconv(concat_elu(t), key + ".conv_out", 1, True)
    a, b = t[:F], t[F:]
    a = pono(a)
    gate = [[av * (1.0 / (1.0 + math.exp(-bv))) for av, bv in zip(ca, cb)] for ca, cb in zip(a, b)]
    return add(u, gate)


def forward(image):
    x = [image, [1.0] * (H * W)]
    u_list = [pono(lmconv(x, "u_init", 1, False))]
    for i in range(2):
        u_list.append(gated(u_list[-1], "up_layers.%d.u_stream.0" % i))
        u_list.append(pono(lmconv(u_list[-1], "downsize_u_stream.%d" % i, DIL, True)))
    u_list.append(gated(u_list[-1], "up_layers.2.u_stream.0"))
    u = u_list.pop()
    for i, blocks in enumerate([1, 2, 2]):
        for j in range(blocks):
            u = gated(u, "down_layers.%d.u_stream.%d" % (i, j), u_list.pop())
        if i < 2:
            u = pono(lmconv(u, "upsize_u_stream.%d" % i, DIL, True))
    assert not u_list
    return nin([[elu(v) for v in ch] for ch in u], "nin_out")


def softplus(z):
    return z if z > 30 else math.log1p(math.exp(z))


def log_likelihood(x, params):
    out = []
    for p in range(H * W):
        logits = [params[j][p] for j in range(MIX)]
        m = max(logits)
        lse = m + math.log(sum(math.exp(a - m) for a in logits))
        terms = []
        for j in range(MIX):
            mean = params[MIX + j][p]
            log_scale = max(params[2 * MIX + j][p], -7.0)
            inv = math.exp(-log_scale)
            c = x[p] - mean
            plus, minus = inv * (c + 1.0 / 255), inv * (c - 1.0 / 255)
            if x[p] < -0.999:
                lp = plus - softplus(plus)
            elif x[p] > 0.999:
                lp = -softplus(minus)
            else:
                delta = 1.0 / (1.0 + math.exp(-plus)) - 1.0 / (1.0 + math.exp(-minus))
                mid = inv * c
                lp = math.log(delta) if delta > 1e-5 else mid - log_scale - 2.0 * softplus(mid) - math.log(127.5)
            terms.append(logits[j] - lse + lp)
        m = max(terms)
        out.append(m + math.log(sum(math.exp(t - m) for t in terms)))
    return out


if __name__ == "__main__":
    image = [((37 * p) % 256) * 2.0 / 255.0 - 1.0 for p in range(H * W)]
    params = forward(image)
    ll = log_likelihood(image, params)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "reference_forward.json"), "w") as f:
        json.dump({"image": image, "parameters": params, "log_likelihood": ll}, f, indent=1)
