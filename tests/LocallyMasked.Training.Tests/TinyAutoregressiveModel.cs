using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests;

/// <summary>
/// A fully visible sigmoid belief net over binary pixels that follows any order: logit[p] = b[p] + sum over pixels q
/// generated before p of W[p, q] x[q]. Tiny and exact, so trainer behaviour can be tested independently of the
/// PixelCNN; per-image orders give per-image masks.
/// </summary>
internal sealed class TinyAutoregressiveModel : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Parameter weight;
    private readonly TorchSharp.Modules.Parameter bias;
    private readonly TorchSharp.Modules.Parameter? unused;

    /// <param name="pixels">Pixels per image.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="withUnusedParameter">Also register a parameter that the likelihood never reads.</param>
    public TinyAutoregressiveModel(int pixels, long seed, bool withUnusedParameter = false) : base(nameof(TinyAutoregressiveModel))
    {
        var generator = new Generator((ulong)seed);
        weight = nn.Parameter(randn(pixels, pixels, generator: generator).mul(0.1));
        bias = nn.Parameter(zeros(pixels));
        if (withUnusedParameter) unused = nn.Parameter(ones(3));
        RegisterComponents();
    }

    /// <summary>The bias (P).</summary>
    public TorchSharp.Modules.Parameter Bias => bias;

    /// <summary>The parameter the likelihood never reads, if there is one.</summary>
    public TorchSharp.Modules.Parameter? Unused => unused;

    /// <summary>Logits (N, P) for inputs x (N, P) in {-1, 1} and masks (N, P, P) (mask[n, p, q] = q before p).</summary>
    public override Tensor forward(Tensor x, Tensor masks) =>
        einsum("npq,nq->np", weight.unsqueeze(0) * masks, x).add(bias);

    public Tensor NegativeLogLikelihood(Tensor inputs, IReadOnlyList<GenerationOrder> orders, Generator? dropout = null)
    {
        long n = inputs.shape[0];
        var x = inputs.reshape(n, -1);
        int p = (int)x.shape[1];
        var masks = new float[n * p * p];
        for (int i = 0; i < n; i++)
        {
            var ranks = orders[orders.Count == 1 ? 0 : i].Ranks;
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++)
                    if (ranks[b] < ranks[a]) masks[(i * p + a) * p + b] = 1;
        }
        var logits = forward(x, tensor(masks, new long[] { n, p, p }).to(x.device));
        var target = x.gt(0).to_type(logits.dtype);
        return nn.functional.binary_cross_entropy_with_logits(logits, target, reduction: nn.Reduction.None).sum(dim: 1);
    }
}
