using System.Globalization;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// Part <see cref="Index"/> of <see cref="Count"/> of a piece of work over images (an evaluation, a set of samples):
/// what one process of a job array (Slurm's <c>--array</c>, a Kubernetes Indexed Job) or one MPI rank computes. Parts
/// are counted from 0, as Kubernetes' completion index: <c>0/2</c> and <c>1/2</c>.
/// </summary>
/// <remarks>
/// A part is cut at the batch boundaries of the whole work, so that each of its batches holds the same images at the same
/// positions as in one process: its results are then bitwise those of one process (a network's float32 sums for an
/// image may depend on the batch it is in). Part i takes the batches whose first image lies in
/// [total * i / count, total * (i + 1) / count): contiguous, in order, every batch in exactly one part, and the parts'
/// sizes differ by at most about one batch. A part may be empty when there are fewer batches than parts.
/// </remarks>
public sealed record Shard
{
    /// <summary>Part <paramref name="index"/> of <paramref name="count"/>.</summary>
    /// <param name="index">This part, from 0 to <paramref name="count"/> - 1.</param>
    /// <param name="count">How many parts the work is cut into (at least 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count below 1, or an index outside 0 to count - 1.</exception>
    public Shard(int index, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Expected at least 1 part.");
        if (index < 0 || index >= count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Expected a part from 0 to {count - 1} (parts are counted from 0).");
        Index = index;
        Count = count;
    }

    /// <summary>This part, from 0 to <see cref="Count"/> - 1.</summary>
    public int Index { get; }

    /// <summary>How many parts the work is cut into.</summary>
    public int Count { get; }

    /// <summary>The whole work in one part.</summary>
    public static Shard Whole { get; } = new(0, 1);

    /// <summary>Whether this is the whole work (one part).</summary>
    public bool IsWhole => Count == 1;

    /// <summary>
    /// The images of this part of <paramref name="total"/> images that are processed in batches of
    /// <paramref name="batchSize"/> (the last one smaller).
    /// </summary>
    /// <param name="total">Images of the whole work.</param>
    /// <param name="batchSize">Images per batch of the whole work.</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative total or a batch size below 1.</exception>
    public ImageRange RangeOf(int total, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        // In 64 bits: a batch size near int.MaxValue must not wrap the count of batches round to none.
        var sizes = new int[((long)total + batchSize - 1) / batchSize];
        for (int b = 0; b < sizes.Length; b++) sizes[b] = (int)Math.Min(batchSize, total - (long)b * batchSize);
        return RangeOf(sizes);
    }

    /// <summary>The images of this part of a work whose batches have the given sizes, in order (batches of unequal sizes).</summary>
    /// <param name="batchSizes">The size of every batch of the whole work, in order (each at least 1).</param>
    /// <exception cref="ArgumentException">A batch size below 1.</exception>
    public ImageRange RangeOf(IReadOnlyList<int> batchSizes)
    {
        ArgumentNullException.ThrowIfNull(batchSizes);
        long total = 0;
        foreach (int size in batchSizes)
        {
            if (size < 1) throw new ArgumentException($"Expected batch sizes of at least 1, got {size}.", nameof(batchSizes));
            total += size;
        }
        long from = total * Index / Count, to = total * (Index + 1) / Count;
        long start = -1, end = -1, first = 0;
        foreach (int size in batchSizes)
        {
            if (first >= from && first < to)
            {
                if (start < 0) start = first;
                end = first + size;
            }
            first += size;
        }
        if (start < 0)
        {
            // No batch starts in this part's interval: an empty range where the part would begin.
            long at = 0;
            foreach (int size in batchSizes)
            {
                if (at >= from) break;
                at += size;
            }
            return new ImageRange((int)at, 0);
        }
        return new ImageRange((int)start, (int)(end - start));
    }

    /// <summary>
    /// Parses "I/N" (I from 0 to N - 1): the form <c>--shard</c> takes. Returns null, with the reason, for anything else.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="error">Why it is not a shard, or null.</param>
    public static Shard? TryParse(string? text, out string? error)
    {
        error = null;
        var parts = (text ?? string.Empty).Trim().Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            error = "expected I/N, part I (from 0) of N, e.g. 0/2 and 1/2";
            return null;
        }
        if (count < 1)
        {
            error = "the number of parts must be at least 1";
            return null;
        }
        if (index >= count)
        {
            error = $"parts of {count} are numbered 0 to {count - 1} (counted from 0, as Kubernetes' completion index)";
            return null;
        }
        return new Shard(index, count);
    }

    /// <summary>"0/2".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
