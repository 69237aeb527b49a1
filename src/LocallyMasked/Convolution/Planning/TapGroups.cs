using System.Numerics;
using System.Runtime.InteropServices;
using LocallyMasked.Convolution.Kernels;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// Builds the groups of the gathered-columns path from a 0/1 mask: every output unit (sample, pixel) has a tap pattern
/// (the taps that are on and land inside the image), units with the same pattern start in one group, and groups are
/// merged greedily, the most saving merge first, while a merge lowers the estimated time of the groups' products
/// (merging saves fixed costs and makes larger, more efficient products, and costs the taps a member computes without
/// needing them).
/// </summary>
internal static class TapGroups
{
    /// <summary>Most distinct patterns merged pairwise; rarer patterns join the group where they cost least.</summary>
    internal const int MaxSeeds = 96;

    /// <summary>
    /// The forward and backward groups of a 0/1 mask, or null when the mask has other values or more than 64 taps.
    /// </summary>
    /// <param name="values">Mask values [b, t, p] flattened.</param>
    /// <param name="batch">1 for a shared mask, else the number of samples.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groupCost">Estimated time of a group of the given number of units (pixels of a shared mask) and taps.</param>
    /// <param name="maxChunk">For tests: the most units per chunk.</param>
    public static GatheredLayout? Create(double[] values, int batch, int height, int width, int kernelSize, int dilation,
        Func<long, int, double> groupCost, long? maxChunk = null) =>
        Patterns(values, batch, height, width, kernelSize, dilation) is { } patterns
            ? Create(patterns.Forward, patterns.Backward, batch, height, width, kernelSize, dilation, groupCost, maxChunk)
            : null;

    /// <summary>
    /// The forward and backward groups from the units' tap patterns (<see cref="Patterns"/>; for a batch with one mask
    /// per sample, the samples' patterns one after the other).
    /// </summary>
    /// <param name="forward">Per output unit (sample, pixel): the taps that are on and land inside the image.</param>
    /// <param name="backward">Per input unit: the taps through which it reaches an output whose mask is on.</param>
    /// <param name="batch">1 for a shared mask, else the number of samples.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groupCost">Estimated time of a group of the given number of units (pixels of a shared mask) and taps.</param>
    /// <param name="maxChunk">For tests: the most units per chunk.</param>
    public static GatheredLayout Create(ulong[] forward, ulong[] backward, int batch, int height, int width, int kernelSize, int dilation,
        Func<long, int, double> groupCost, long? maxChunk = null)
    {
        return new GatheredLayout(height, width, kernelSize, dilation, batch, Clusters(Group(forward, groupCost)), Clusters(Group(backward, groupCost)),
            forward, backward, maxChunk);
    }

    /// <summary>
    /// The tap pattern of every output unit (the taps that are on and land inside the image) and of every input unit
    /// (the taps through which it reaches an output whose mask is on), as bit sets over units [b * H * W + p]; null when
    /// the mask has values other than 0 and 1 or more than 64 taps.
    /// </summary>
    /// <param name="values">Mask values [b, t, p] flattened.</param>
    /// <param name="batch">Number of masks in <paramref name="values"/>.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    public static (ulong[] Forward, ulong[] Backward)? Patterns(double[] values, int batch, int height, int width, int kernelSize, int dilation)
    {
        var taps = kernelSize * kernelSize;
        if (taps > 64 || values.Any(v => v != 0.0 && v != 1.0))
            return null;
        var pixels = height * width;
        var half = kernelSize / 2;
        var forward = new ulong[batch * pixels];
        var backward = new ulong[batch * pixels];
        for (var b = 0; b < batch; b++)
        {
            for (var t = 0; t < taps; t++)
            {
                var (di, dj) = ((t / kernelSize - half) * dilation, (t % kernelSize - half) * dilation);
                for (var p = 0; p < pixels; p++)
                {
                    var (i, j) = (p / width, p % width);
                    if (i + di < 0 || i + di >= height || j + dj < 0 || j + dj >= width)
                        continue;
                    if (values[(b * taps + t) * pixels + p] == 0.0)
                        continue;
                    forward[b * pixels + p] |= 1UL << t;
                    // Input pixel q = p + offset(t) reaches output p through tap t.
                    backward[b * pixels + (i + di) * width + j + dj] |= 1UL << t;
                }
            }
        }

        return (forward, backward);
    }

    /// <summary>Groups of units (pattern union, members) for a cost of units x |union| + groupCost per group.</summary>
    internal static List<(ulong Taps, List<int> Units)> Group(ulong[] patterns, double groupCost) =>
        Group(patterns, (units, taps) => (double)units * taps + groupCost);

    /// <summary>
    /// Groups of units (pattern union, members) with a low total of the given group cost. The merging works on the
    /// distinct patterns and their unit counts; the units are assigned to their pattern's group at the end, ascending.
    /// </summary>
    internal static List<(ulong Taps, List<int> Units)> Group(ulong[] patterns, Func<long, int, double> groupCost)
    {
        double Cost(ulong taps, long units) => groupCost(units, BitOperations.PopCount(taps));
        var counts = new Dictionary<ulong, int>();
        foreach (var pattern in patterns)
            CollectionsMarshal.GetValueRefOrAddDefault(counts, pattern, out _)++;
        var distinct = counts.Select(c => (Taps: c.Key, Count: (long)c.Value)).OrderByDescending(g => g.Count).ThenBy(g => g.Taps).ToList();
        var groups = distinct.Take(MaxSeeds).Select(d => (d.Taps, d.Count, Members: new List<ulong> { d.Taps })).ToList();
        foreach (var rare in distinct.Skip(MaxSeeds))
        {
            var best = Enumerable.Range(0, groups.Count)
                .MinBy(k => Cost(groups[k].Taps | rare.Taps, groups[k].Count + rare.Count) - Cost(groups[k].Taps, groups[k].Count));
            groups[best].Members.Add(rare.Taps);
            groups[best] = (groups[best].Taps | rare.Taps, groups[best].Count + rare.Count, groups[best].Members);
        }

        // Savings of every pair, updated for the merged group only: O(groups^2) cost evaluations in all.
        var costs = groups.Select(g => Cost(g.Taps, g.Count)).ToList();
        var count = groups.Count;
        var alive = Enumerable.Repeat(true, count).ToArray();
        var saving = new double[count, count];
        double Saving(int a, int b) => costs[a] + costs[b] - Cost(groups[a].Taps | groups[b].Taps, groups[a].Count + groups[b].Count);
        for (var a = 0; a < count; a++)
            for (var b = a + 1; b < count; b++)
                saving[a, b] = Saving(a, b);
        while (true)
        {
            var (bestA, bestB, best) = (-1, -1, 0.0);
            for (var a = 0; a < count; a++)
            {
                if (!alive[a])
                    continue;
                for (var b = a + 1; b < count; b++)
                {
                    if (alive[b] && saving[a, b] > best * (1 + 1e-12) && saving[a, b] > 1e-12 * Math.Abs(costs[a] + costs[b]))
                        (bestA, bestB, best) = (a, b, saving[a, b]);
                }
            }

            if (bestA < 0)
                break;
            groups[bestA].Members.AddRange(groups[bestB].Members);
            groups[bestA] = (groups[bestA].Taps | groups[bestB].Taps, groups[bestA].Count + groups[bestB].Count, groups[bestA].Members);
            costs[bestA] = Cost(groups[bestA].Taps, groups[bestA].Count);
            alive[bestB] = false;
            for (var k = 0; k < count; k++)
            {
                if (k != bestA && alive[k])
                    saving[Math.Min(k, bestA), Math.Max(k, bestA)] = Saving(Math.Min(k, bestA), Math.Max(k, bestA));
            }
        }

        var merged = groups.Where((_, k) => alive[k]).ToList();
        var groupOf = new Dictionary<ulong, int>();
        for (var g = 0; g < merged.Count; g++)
            foreach (var member in merged[g].Members)
                groupOf[member] = g;
        var units = merged.Select(g => new List<int>((int)g.Count)).ToArray();
        for (var u = 0; u < patterns.Length; u++)
            units[groupOf[patterns[u]]].Add(u);
        return merged.Select((g, k) => (g.Taps, units[k])).OrderBy(g => g.Item2[0]).ToList();
    }

    private static GatheredCluster[] Clusters(List<(ulong Taps, List<int> Units)> groups) =>
        groups.Select(g => new GatheredCluster(Enumerable.Range(0, 64).Where(t => (g.Taps >> t & 1) != 0).ToArray(), g.Units.ToArray())).ToArray();
}
