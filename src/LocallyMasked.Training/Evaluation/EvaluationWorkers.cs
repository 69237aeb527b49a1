using LocallyMasked.Training.Runtime;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Evaluation;

/// <summary>
/// Dedicated threads that compute each evaluation batch in contiguous shards at once, every thread with an equal share
/// of libtorch's CPU threads: small models on a few cores are bound by the cost of issuing operations, so shards on
/// their own threads keep every core busy where more intra-op threads per operation do not (docs/benchmarks.md,
/// "Training step: shards on threads"). The result is the one-pass result: shards are concatenated in order. Pass
/// <see cref="Wrap"/> as the <c>computeWith</c> argument of <see cref="LikelihoodEvaluation.Evaluate(Models.IAutoregressiveImageModel, Data.ImageDataset, InputEncoding, IReadOnlyList{Orders.GenerationOrder}, int, int, IProgress{int}?, Func{PerOrderLogLikelihoods, PerOrderLogLikelihoods}?)"/>.
/// A trainer has its own (<see cref="Trainer.OnWorkers"/>).
/// </summary>
public sealed class EvaluationWorkers : IDisposable
{
    private readonly ShardWorkers workers;

    /// <summary>Starts <paramref name="count"/> worker threads sharing <paramref name="threads"/> libtorch threads.</summary>
    /// <param name="count">Shards per batch (at least 1).</param>
    /// <param name="threads">libtorch CPU threads to share among the workers (0: the current <c>torch.get_num_threads()</c>);
    /// each worker gets threads / count, at least one. The calling thread's own count is left as it was.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is below 1 or <paramref name="threads"/> below 0.</exception>
    public EvaluationWorkers(int count, int threads = 0)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Expected at least one worker.");
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Expected a thread count of at least 1, or 0 for torch's current count.");
        workers = new ShardWorkers(count, Math.Max(1, (threads == 0 ? get_num_threads() : threads) / count));
    }

    /// <summary>The number of workers (shards per batch; fewer for a batch with fewer images).</summary>
    public int Count => workers.Count;

    /// <summary>
    /// <paramref name="perOrder"/> computed in shards of each batch on the workers, without gradients. Use the result
    /// while this object is alive, from one thread at a time.
    /// </summary>
    /// <param name="perOrder">A model's log-likelihoods of a batch under some orders.</param>
    public PerOrderLogLikelihoods Wrap(PerOrderLogLikelihoods perOrder)
    {
        ArgumentNullException.ThrowIfNull(perOrder);
        return InShards(workers, perOrder);
    }

    /// <summary>
    /// <paramref name="perOrder"/> computed in contiguous shards of each batch at once, one per worker of
    /// <paramref name="workers"/> (fewer when the batch is smaller), without gradients; the shards' rows are concatenated
    /// in order, so the result is the one-pass result.
    /// </summary>
    internal static PerOrderLogLikelihoods InShards(ShardWorkers workers, PerOrderLogLikelihoods perOrder) => (x, orders) =>
    {
        int batch = (int)x.shape[0], count = Math.Min(workers.Count, batch);
        var parts = workers.Run(s =>
        {
            if (s >= count) return null;
            var (start, length) = ShardWorkers.ShardRange(batch, count, s);
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            return perOrder(x.narrow(0, start, length), orders).DetachFromDisposeScope();
        }, discard: part => part?.Dispose());
        try
        {
            return cat(parts.OfType<Tensor>().ToArray(), 0);
        }
        finally
        {
            foreach (var part in parts) part?.Dispose();
        }
    };

    /// <summary>Stops the worker threads.</summary>
    public void Dispose() => workers.Dispose();
}
