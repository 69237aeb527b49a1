using LocallyMasked.Numerics;
using static TorchSharp.torch;

namespace LocallyMasked.Likelihoods;

/// <summary>
/// Order ensembles (the paper's "ensembling over orders"): the likelihood of the uniform mixture of the autoregressive
/// models given by several orders, log p(x) = logsumexp_k log p_k(x) - log K. The per-order log-likelihoods come from
/// the model (<c>PerOrderLogLikelihoods</c>); this is the mixture.
/// </summary>
public static class OrderEnsemble
{
    /// <summary>Uniform mixture of per-order log-likelihoods (N, K): logsumexp over K minus log K.</summary>
    /// <param name="perOrder">(N, K) log-likelihoods.</param>
    /// <returns>(N).</returns>
    public static Tensor Mix(Tensor perOrder)
    {
        ArgumentNullException.ThrowIfNull(perOrder);
        if (perOrder.dim() != 2 || perOrder.shape[1] < 1)
            throw new ArgumentException($"Expected per-order log-likelihoods of shape (N, K), got ({string.Join(", ", perOrder.shape)}).", nameof(perOrder));
        using var scope = NewDisposeScope();
        return perOrder.logsumexp(1).Minus(Math.Log(perOrder.shape[1])).MoveToOuterDisposeScope();
    }

}
