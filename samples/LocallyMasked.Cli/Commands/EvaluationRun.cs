using LocallyMasked.Cli.Ranks;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using LocallyMasked.Training.Distributed;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// The evaluation <c>evaluate</c> and <c>score</c> run: of all the images, of this process's part (<c>--shard I/N</c>),
/// or split over the ranks of an MPI job and gathered again, so that every rank ends with the whole evaluation's figures,
/// equal to one process's bit for bit.
/// </summary>
public static class EvaluationRun
{
    /// <summary>What was evaluated.</summary>
    /// <param name="Report">The figures (the part's for a shard, the whole evaluation's otherwise).</param>
    /// <param name="Region">The region's figures, or null.</param>
    /// <param name="Range">The images of <see cref="Report"/>.</param>
    /// <param name="Elapsed">How long it took.</param>
    public sealed record Outcome(EvaluationReport Report, RegionEvaluationReport? Region, ImageRange Range, TimeSpan Elapsed);

    /// <summary>Evaluates the first <paramref name="count"/> images, or this process's part of them.</summary>
    /// <param name="terminal">Where progress goes.</param>
    /// <param name="group">The ranks of an MPI job, or this process alone.</param>
    /// <param name="shard">This process's part (<see cref="Shard.Whole"/> for all; under MPI, the rank's).</param>
    /// <param name="model">The model.</param>
    /// <param name="data">The images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="orders">The orders.</param>
    /// <param name="count">Images of the whole evaluation (the first ones).</param>
    /// <param name="batchSize">Image x order pairs per pass.</param>
    /// <param name="workers">--workers, or null for the device's default.</param>
    /// <param name="region">The region as typed and for the model's size, or null.</param>
    /// <exception cref="InputError">A --shard part without images.</exception>
    public static Outcome Run(Terminal terminal, RankGroup group, Shard shard, IAutoregressiveImageModel model, ImageDataset data, InputEncoding encoding,
        IReadOnlyList<GenerationOrder> orders, int count, int batchSize, int? workers, (RegionChoice Choice, ImageRegion Area)? region)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(orders);
        int imagesPerBatch = LikelihoodEvaluation.ImagesPerBatch(batchSize, orders.Count);
        var ranges = Enumerable.Range(0, shard.Count).Select(s => new Shard(s, shard.Count).RangeOf(count, imagesPerBatch)).ToArray();
        var range = ranges[shard.Index];
        if (group.IsDistributed)
            terminal.Line($"{group.Size} MPI ranks: " + string.Join(", ", ranges.Select((r, i) => $"rank {i} {r}")) + $" of {count}");
        else if (!shard.IsWhole)
        {
            if (range.Count == 0)
                throw new InputError($"--shard {shard}: this part holds no images: {count} images in batches of {imagesPerBatch} make "
                    + $"{(count + imagesPerBatch - 1) / imagesPerBatch} batches, fewer than the parts that start one; use fewer parts or a smaller --batch-size.");
            terminal.Line($"shard {shard}: {range} of {count}");
        }

        int shards = workers ?? DeviceSettings.DefaultWorkers(model.Device);
        using var evaluationWorkers = shards > 1 ? new EvaluationWorkers(shards) : null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        EvaluationReport? report = null;
        RegionEvaluationReport? regionReport = null;
        if (range.Count > 0)
        {
            report = EvaluationTable.Evaluate(terminal, model, data, encoding, orders, range, batchSize, evaluationWorkers is null ? null : evaluationWorkers.Wrap);
            if (region is { } r)
                regionReport = EvaluationTable.EvaluateRegion(terminal, r.Choice.Spec, model, data, encoding, r.Area, orders, range, batchSize);
        }
        if (group.IsDistributed)
        {
            var shape = region is { } r
                ? new GatheredEvaluation.RegionShape(r.Area.Pixels.Count, r.Area.Pixels.Count * model.Configuration.ImageChannels, orders.Count, model.SupportedOrders is null)
                : null;
            var wait = group.WaitForOthers(clock.Elapsed, range.Count, ranges.Max(x => x.Count));
            (report, regionReport) = GatheredEvaluation.Gather(group, report, regionReport, orders.Count, shape, ranges, data.ImageSize, wait);
            range = ImageRange.All(count);
        }
        return new Outcome(report!, regionReport, range, clock.Elapsed);
    }
}
