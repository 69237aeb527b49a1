using LocallyMasked.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Ranks;

/// <summary>
/// Images generated in batches (<c>sample</c>, <c>complete</c>), split into parts: a process of a job array draws the
/// batches of its part (<c>sample --shard I/N</c>) and writes them as sheets of its own; the ranks of an MPI job draw
/// theirs and rank 0 writes the whole run's sheets. Batches are cut exactly as one process cuts them
/// (<see cref="Plan"/>, the rule of <see cref="Imaging.ImageBatches"/>: at most the batch size, never across a sheet)
/// and batch b draws with the seed (seed, b) (<see cref="Imaging.ImageBatches.SeedOf"/>), so every image is bitwise the
/// one a single process draws, and rank 0's files are byte for byte a single process's.
/// </summary>
public static class ShardedBatches
{
    /// <summary>A batch of the whole run.</summary>
    /// <param name="Index">Its index (the seed's second part).</param>
    /// <param name="First">The run's index of its first image.</param>
    /// <param name="Count">Its images.</param>
    /// <param name="Sheet">The sheet its images go to.</param>
    public sealed record Batch(long Index, int First, int Count, int Sheet);

    /// <summary>
    /// The batches one process cuts <paramref name="count"/> images into: each as large as <paramref name="batchSize"/>,
    /// the images left, and the room left on the current sheet of <paramref name="perSheet"/> allow.
    /// </summary>
    /// <param name="count">The images.</param>
    /// <param name="batchSize">Images per batch at most.</param>
    /// <param name="perSheet">Images per sheet at most.</param>
    public static IReadOnlyList<Batch> Plan(int count, int batchSize, int perSheet)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(perSheet, 1);
        var batches = new List<Batch>();
        int done = 0, inSheet = 0, sheet = 0;
        for (long index = 0; done < count; index++)
        {
            int n = Math.Min(Math.Min(batchSize, count - done), perSheet - inSheet);
            batches.Add(new Batch(index, done, n, sheet));
            done += n;
            inSheet += n;
            if (inSheet == perSheet)
            {
                inSheet = 0;
                sheet++;
            }
        }
        return batches;
    }

    /// <summary>A sheet of a part: the whole run's index of its first image, and its images.</summary>
    /// <param name="First">The run's index of the sheet's first image.</param>
    /// <param name="Images">The images on it.</param>
    public sealed record PartSheet(int First, int Images);

    /// <summary>
    /// The sheets <see cref="Run"/> writes for part <paramref name="shard"/> of <paramref name="plan"/> without MPI, in
    /// order: one for each of the run's sheets that the part has images of.
    /// </summary>
    /// <param name="plan">The whole run's batches.</param>
    /// <param name="shard">The part.</param>
    public static IReadOnlyList<PartSheet> PartSheets(IReadOnlyList<Batch> plan, Shard shard)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(shard);
        return Mine(plan, shard).GroupBy(b => b.Sheet).Select(g => new PartSheet(g.First().First, g.Sum(b => b.Count))).ToArray();
    }

    private static Batch[] Mine(IReadOnlyList<Batch> plan, Shard shard)
    {
        var range = shard.RangeOf(plan.Select(b => b.Count).ToArray());
        return plan.Where(b => b.First >= range.Start && b.First < range.End).ToArray();
    }

    /// <summary>
    /// Draws this process's part of <paramref name="plan"/> and writes sheets: without MPI, a sheet of the part's images
    /// of each of the run's sheets as soon as it is complete (<paramref name="partSheetPath"/>); under MPI, after every
    /// rank has drawn its part, each of the run's sheets gathered on rank 0 and written there (<paramref name="sheetPath"/>).
    /// </summary>
    /// <param name="terminal">For progress.</param>
    /// <param name="description">The progress line's description.</param>
    /// <param name="group">The ranks (or this process alone).</param>
    /// <param name="shard">This process's part (under MPI, the rank's).</param>
    /// <param name="plan">The whole run's batches.</param>
    /// <param name="imageShape">The shape of one image as <paramref name="draw"/> gives it (every rank knows it, with or without images).</param>
    /// <param name="dtype">The type of the images <paramref name="draw"/> gives.</param>
    /// <param name="draw">Draws a batch: its images as a CPU tensor with the batch's images along the first dimension.</param>
    /// <param name="writeSheet">Writes images as a sheet at a path.</param>
    /// <param name="sheetPath">The file of the run's sheet s of S (rank 0 under MPI).</param>
    /// <param name="partSheetPath">The file of the part's sheet k of K (a process of a job array).</param>
    /// <param name="stop">Stops after the current batch (what was drawn is written).</param>
    /// <returns>The files written (none on ranks other than 0) and the images in them.</returns>
    public static (IReadOnlyList<string> Files, int Images) Run(Terminal terminal, string description, RankGroup group, Shard shard,
        IReadOnlyList<Batch> plan, long[] imageShape, ScalarType dtype, Func<Batch, Tensor> draw, Action<Tensor, string> writeSheet, Func<int, int, string> sheetPath,
        Func<int, int, string> partSheetPath, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(imageShape);
        ArgumentNullException.ThrowIfNull(draw);
        ArgumentNullException.ThrowIfNull(writeSheet);
        var sizes = plan.Select(b => b.Count).ToArray();
        var ranges = Enumerable.Range(0, shard.Count).Select(s => new Shard(s, shard.Count).RangeOf(sizes)).ToArray();
        var range = ranges[shard.Index];
        var mine = Mine(plan, shard);
        int sheets = plan.Count == 0 ? 0 : plan[^1].Sheet + 1;
        var partSheets = mine.Select(b => b.Sheet).Distinct().ToArray();
        var kept = new SortedDictionary<int, List<Tensor>>();
        var written = new List<string>();
        int drawn = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            terminal.WithProgress(description, range.Count, line =>
            {
                for (int i = 0; i < mine.Length && !stop.IsCancellationRequested; i++)
                {
                    var batch = mine[i];
                    if (!kept.TryGetValue(batch.Sheet, out var list)) kept[batch.Sheet] = list = new List<Tensor>();
                    list.Add(draw(batch));
                    drawn += batch.Count;
                    line.Report(drawn, $"{drawn}/{range.Count} images");
                    // Without MPI a sheet is written as soon as the part has drawn its images of it: memory stays bounded.
                    if (!group.IsDistributed && (i == mine.Length - 1 || mine[i + 1].Sheet != batch.Sheet))
                        written.Add(WriteKept(kept, batch.Sheet, writeSheet, partSheetPath(Array.IndexOf(partSheets, batch.Sheet), partSheets.Length)));
                }
            });
            if (!group.IsDistributed)
            {
                // Stopped: the sheet begun is written with what it has.
                foreach (int sheet in kept.Keys.ToArray()) written.Add(WriteKept(kept, sheet, writeSheet, partSheetPath(Array.IndexOf(partSheets, sheet), partSheets.Length)));
                return (written, drawn);
            }

            var wait = group.WaitForOthers(clock.Elapsed, range.Count, ranges.Max(r => r.Count));
            int total = 0;
            for (int sheet = 0; sheet < sheets; sheet++)
            {
                var images = Gather(group, kept.TryGetValue(sheet, out var parts) ? parts : null, imageShape, dtype == ScalarType.Float64, wait);
                wait = MpiCommunicator.DefaultTimeout;
                if (images is null) continue;
                using (images)
                {
                    total += (int)images.shape[0];
                    if (group.IsRoot)
                    {
                        string path = sheetPath(sheet, sheets);
                        writeSheet(images, path);
                        written.Add(path);
                    }
                }
            }
            return (written, total);
        }
        finally
        {
            foreach (var list in kept.Values)
                foreach (var t in list) t.Dispose();
        }
    }

    private static string WriteKept(SortedDictionary<int, List<Tensor>> kept, int sheet, Action<Tensor, string> writeSheet, string path)
    {
        var parts = kept[sheet];
        kept.Remove(sheet);
        try
        {
            using var scope = NewDisposeScope();
            writeSheet(cat(parts, 0), path);
            return path;
        }
        finally
        {
            foreach (var t in parts) t.Dispose();
        }
    }

    /// <summary>
    /// The ranks' images of one sheet, in rank order, on every rank (null when no rank drew any): their values travel
    /// unchanged (as float64 for float64 images, else as float32, which holds every value of the smaller types).
    /// </summary>
    private static Tensor? Gather(RankGroup group, List<Tensor>? parts, long[] trailing, bool wide, TimeSpan wait)
    {
        using var scope = NewDisposeScope();
        var own = parts is { Count: > 0 } ? cat(parts, 0) : null;
        long perImage = trailing.Aggregate(1L, (a, b) => a * b);
        Tensor result;
        if (wide)
        {
            var values = group.Gather(own is null ? Array.Empty<double>() : own.to_type(ScalarType.Float64).contiguous().data<double>().ToArray(), wait);
            if (values.Length == 0) return null;
            result = tensor(values).reshape(new[] { values.Length / perImage }.Concat(trailing).ToArray());
        }
        else
        {
            var values = group.Gather(own is null ? Array.Empty<float>() : own.to_type(ScalarType.Float32).contiguous().data<float>().ToArray(), wait);
            if (values.Length == 0) return null;
            result = tensor(values).reshape(new[] { values.Length / perImage }.Concat(trailing).ToArray());
        }
        return result.MoveToOuterDisposeScope();
    }
}
