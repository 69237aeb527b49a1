using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using LocallyMasked.Orders;
using LocallyMasked.Training.Evaluation;
using LocallyMasked.Training.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training;

// Data parallel over processes (an IDataParallelGroup of several): every process draws the whole batch from the seed
// (indices, binarization, orders), computes the shards of its slice (with W workers each, process p computes the shards
// p W to p W + W - 1 of the batch cut into Size x W shards, each with the dropout generator of its shard number), and the
// group sums the losses and gradients in process order. N processes with one worker each therefore make bit for bit the
// update of one process with N workers (with as many threads per shard); other splits add the same terms grouped
// differently (docs/cluster.md, "Exactness").
public sealed partial class Trainer
{
    // Whether the processes agreed in the last step that one of them asks to stop after it.
    private bool stopAgreed;

    /// <summary>The processes that train this model together (<see cref="SingleProcessGroup.Instance"/> when alone).</summary>
    public IDataParallelGroup Group => group;

    /// <summary>Whether the last <see cref="Train"/> returned before its target step because a stop was requested (on any process of the group).</summary>
    public bool Stopped { get; private set; }

    /// <summary>
    /// A SHA-256 digest (hexadecimal) of everything that decides the next steps: the step, the model's parameters and
    /// buffers, Adam's state and the moving average. Processes of a group hold the same digest after every step; two
    /// trainers with the same digest continue identically.
    /// </summary>
    public string StateDigest()
    {
        using var scope = NewDisposeScope();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(BitConverter.GetBytes(Step));
        AppendTensors(hash, model.state_dict());
        using (var buffer = new MemoryStream())
        {
            using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true)) optimizer.save_state_dict(writer);
            hash.AppendData(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        if (average is not null) AppendTensors(hash, average.Tensors);
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary>
    /// Joins the group (from the constructor): refuses a batch with fewer images than shards and processes that train
    /// with other settings, orders, model or data, then gives every process process 0's weights.
    /// </summary>
    private void JoinGroup()
    {
        int shards = group.Size * Options.Workers;
        if (shards > Options.BatchSize)
            throw new ArgumentException(
                $"Expected at least one image per shard: {group.Size} processes x {Options.Workers} workers make {shards} shards of a batch of {Options.BatchSize}; use a larger batch, fewer workers or fewer processes.",
                nameof(group));
        if (Disagreeing(Encoding.UTF8.GetBytes(AgreementText())) is { Length: > 0 } differing)
            throw new ArgumentException(
                $"{Processes(differing)} of the data-parallel group of {group.Size} {(differing.Length == 1 ? "trains" : "train")} with other settings, orders, model or data than process 0: give every process the same.",
                nameof(group));
        using var noGrad = no_grad();
        group.BroadcastInPlace(model.state_dict().Values.ToArray());
    }

    /// <summary>After a resume in a group: every process must have read the same state (a collective).</summary>
    private void RequireSameState(string path)
    {
        if (group.Size == 1) return;
        if (Disagreeing(Encoding.ASCII.GetBytes(StateDigest())) is { Length: > 0 } differing)
            throw new InvalidDataException(
                $"{path}: {Processes(differing)} of the data-parallel group read another training state from it than process 0 (another file at that path?): give every process the same checkpoint.");
    }

    /// <summary>
    /// This process's shards of the step's batch on its workers, then the group's sums: the losses (each process fills its
    /// images' places of a batch-long vector, so the sum is the whole batch's losses), the stop request and the gradients.
    /// </summary>
    /// <returns>The batch's mean loss.</returns>
    private double DataParallelBackward(Tensor inputs, IReadOnlyList<GenerationOrder> orders, long step, int[] indices, bool stopRequested)
    {
        int batch = indices.Length, each = workers?.Count ?? 1, total = group.Size * each, first = group.Index * each;
        var trainable = Trainable();
        var shards = workers is null
            ? new[] { ComputeShard(inputs, orders, step, total, first, trainable) }
            : workers.Run(s => ComputeShard(inputs, orders, step, total, first + s, trainable), discard: shard => shard.Dispose());
        try
        {
            // The first exchange after this process's computation: where a lost process is noticed.
            stopAgreed = group.AnyRequestsStop(stopRequested, step + 1);
            var losses = zeros(batch, shards[0].Losses.dtype, shards[0].Losses.device);
            foreach (var shard in shards) losses.narrow(0, shard.Start, shard.Losses.shape[0]).copy_(shard.Losses);
            group.SumInPlace(new[] { losses });
            var loss = losses.mean().ToDouble();
            if (!double.IsFinite(loss))
                throw new TrainingDivergedException(step, loss, "loss", DivergenceDiagnosis.FirstNonFinite(model, inputs, losses, indices));
            optimizer.zero_grad();
            AddGradients(trainable, shards);
            group.SumGradients(trainable);
            return loss;
        }
        finally
        {
            foreach (var shard in shards) shard.Dispose();
        }
    }

    /// <summary>
    /// <paramref name="perOrder"/> over the group: every process computes its shards of each batch (the batch cut into
    /// Size x workers shards, as one process with that many workers would), and the group sums batch-long tables in which
    /// each process filled its rows, in float64 (exact for the values of every floating type).
    /// </summary>
    private PerOrderLogLikelihoods AcrossGroup(PerOrderLogLikelihoods perOrder) => (x, orders) =>
    {
        int batch = (int)x.shape[0], each = workers?.Count ?? 1, count = Math.Min(group.Size * each, batch), first = group.Index * each;
        Tensor? Part(int s)
        {
            if (first + s >= count) return null;
            var (start, length) = ShardWorkers.ShardRange(batch, count, first + s);
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            return perOrder(x.narrow(0, start, length), orders).DetachFromDisposeScope();
        }

        var parts = workers is null ? new[] { Part(0) } : workers.Run(Part, discard: part => part?.Dispose());
        try
        {
            using var scope = NewDisposeScope();
            var table = zeros(new long[] { batch, orders.Count }, ScalarType.Float64, x.device);
            for (int s = 0; s < parts.Length; s++)
                if (parts[s] is { } part) table.narrow(0, ShardWorkers.ShardRange(batch, count, first + s).Start, part.shape[0]).copy_(part);
            group.SumInPlace(new[] { table });
            // A process without rows in a small last batch answers in the model's type.
            return table.to_type(parts.FirstOrDefault(p => p is not null)?.dtype ?? dtype).MoveToOuterDisposeScope();
        }
        finally
        {
            foreach (var part in parts) part?.Dispose();
        }
    };

    /// <summary>The processes whose bytes differ from process 0's (a collective: process 0 broadcasts its hash, all compare).</summary>
    private int[] Disagreeing(byte[] text)
    {
        var differs = new double[group.Size];
        using (var scope = NewDisposeScope())
        {
            var hash = tensor(SHA256.HashData(text));
            var own = hash.clone();
            group.BroadcastInPlace(new[] { hash });
            differs[group.Index] = own.equal(hash).all().item<bool>() ? 0 : 1;
        }
        group.SumInPlace(differs);
        return Enumerable.Range(0, group.Size).Where(p => differs[p] != 0).ToArray();
    }

    /// <summary>What every process of a group must share: settings, orders, model, data sizes and parameter shapes.</summary>
    private string AgreementText()
    {
        var text = new StringBuilder();
        text.Append(Options.ToJson().ToJsonString()).Append('\n').Append(modelType).Append('\n').Append(ModelConfiguration).Append('\n');
        text.Append(CultureInfo.InvariantCulture, $"train {train.Count} {train.Channels}x{train.Height}x{train.Width}, test {test?.Count ?? -1}\n");
        foreach (var order in Orders) text.AppendJoin(',', order.Sequence.ToArray()).Append('\n');
        foreach (var p in parameters) text.Append(CultureInfo.InvariantCulture, $"{p.dtype} [{string.Join(',', p.shape)}] {p.requires_grad}\n");
        return text.ToString();
    }

    private static string Processes(int[] indices) =>
        indices.Length == 1 ? $"process {indices[0]}" : $"processes {string.Join(", ", indices)}";

    /// <summary>Each tensor's name, type, shape and bytes (called inside a dispose scope).</summary>
    private static void AppendTensors(IncrementalHash hash, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (name, value) in tensors)
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{name} {value.dtype} [{string.Join(',', value.shape)}]\n"));
            hash.AppendData(value.detach().cpu().contiguous().bytes);
        }
    }
}
