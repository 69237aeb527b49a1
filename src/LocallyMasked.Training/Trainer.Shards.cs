using LocallyMasked.Orders;
using LocallyMasked.Numerics;
using LocallyMasked.Training.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training;

// A batch in shards: contiguous slices of the batch, each with its own dropout generator, whose losses are sum(losses) /
// batch, so that their gradients added in shard order are the whole batch's. Shards run on the worker threads of one
// process (ShardedBackward) and, in a data-parallel group, on several processes (Trainer.DataParallel.cs).
public sealed partial class Trainer
{
    /// <summary>
    /// The batch's loss and gradients from <see cref="TrainerOptions.Workers"/> contiguous shards computed at once on the
    /// workers' threads: shard s contributes sum(its losses) / batch, so the gradients, added in shard order into the
    /// parameters' gradients, are those of the batch mean. Each shard's dropout draws from its own generator.
    /// </summary>
    /// <returns>The batch's mean loss (nothing is written to the gradients when it is not finite).</returns>
    private double ShardedBackward(Tensor inputs, IReadOnlyList<GenerationOrder> orders, long step, int[] indices)
    {
        int count = workers!.Count;
        var trainable = Trainable();
        var shards = workers.Run(s => ComputeShard(inputs, orders, step, count, s, trainable), discard: shard => shard.Dispose());
        try
        {
            var losses = cat(shards.Select(s => s.Losses).ToArray());
            var loss = losses.mean().ToDouble();
            if (!double.IsFinite(loss))
                throw new TrainingDivergedException(step, loss, "loss", DivergenceDiagnosis.FirstNonFinite(model, inputs, losses, indices));
            optimizer.zero_grad();
            AddGradients(trainable, shards);
            return loss;
        }
        finally
        {
            foreach (var shard in shards) shard.Dispose();
        }
    }

    /// <summary>
    /// Only what requires a gradient is differentiated: libtorch refuses the others, and its error would not reach .NET
    /// from autograd.grad (TorchSharp 0.107 does not catch it there, unlike in backward).
    /// </summary>
    private TorchSharp.Modules.Parameter[] Trainable()
    {
        var trainable = parameters.Where(p => p.requires_grad).ToArray();
        if (trainable.Length == 0)
            throw new InvalidOperationException("No parameter of the model requires a gradient: nothing to train.");
        return trainable;
    }

    /// <summary>
    /// Shard <paramref name="shard"/> of <paramref name="shards"/> contiguous shards of the batch: its per-image losses and
    /// the gradients of sum(its losses) / batch, with dropout drawing from the shard's own generator.
    /// </summary>
    private ShardResult ComputeShard(Tensor inputs, IReadOnlyList<GenerationOrder> orders, long step, int shards, int shard, TorchSharp.Modules.Parameter[] trainable)
    {
        int batch = (int)inputs.shape[0];
        var (start, length) = ShardWorkers.ShardRange(batch, shards, shard);
        using var scope = NewDisposeScope();
        using var dropout = TrainingDraws.Dropout(Options.Seed, step, shard);
        var shardOrders = orders.Count == 1 ? orders : orders.Skip(start).Take(length).ToArray();
        var nll = CheckedLosses(objective(inputs.narrow(0, start, length), shardOrders, dropout), length);
        var gradients = autograd.grad(new[] { nll.sum().DividedBy(batch) }, trainable, allow_unused: true);
        // A parameter the loss does not reach comes back as a tensor without a handle.
        return new ShardResult(start, nll.detach().DetachFromDisposeScope(),
            gradients.Select(g => g.IsInvalid ? null : g.DetachFromDisposeScope()).ToArray());
    }

    /// <summary>The shards' gradients added in shard order into the parameters' gradients (after <c>zero_grad</c>).</summary>
    private static void AddGradients(TorchSharp.Modules.Parameter[] trainable, IReadOnlyList<ShardResult> shards)
    {
        for (int i = 0; i < trainable.Length; i++)
        {
            Tensor? sum = null;
            foreach (var shard in shards)
                if (shard.Gradients[i] is { } g) sum = sum is null ? g.clone() : sum.PlusInPlace(g);
            // The parameter keeps its own reference to the gradient: this step's scope disposes only the handle.
            if (sum is not null) trainable[i].grad = sum;
        }
    }

    /// <summary>One shard's first image in the batch, its per-image losses and its gradients (null where the loss does not reach a parameter).</summary>
    private sealed record ShardResult(int Start, Tensor Losses, Tensor?[] Gradients) : IDisposable
    {
        public void Dispose()
        {
            Losses.Dispose();
            foreach (var g in Gradients) g?.Dispose();
        }
    }
}
