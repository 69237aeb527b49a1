using System.Numerics;
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
        Func<long, int, double> groupCost, long? maxChunk = null)
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

        var layout = new GatheredLayout(height, width, kernelSize, dilation, batch, Array.Empty<GatheredCluster>(), Array.Empty<GatheredCluster>());
        return new GatheredLayout(height, width, kernelSize, dilation, batch,
            Clusters(layout, forward, Group(forward, groupCost), mirrored: false),
            Clusters(layout, backward, Group(backward, groupCost), mirrored: true), maxChunk);
    }

    /// <summary>Groups of units (pattern union, members) for a cost of units x |union| + groupCost per group.</summary>
    internal static List<(ulong Taps, List<int> Units)> Group(ulong[] patterns, double groupCost) =>
        Group(patterns, (units, taps) => (double)units * taps + groupCost);

    /// <summary>Groups of units (pattern union, members) with a low total of the given group cost.</summary>
    internal static List<(ulong Taps, List<int> Units)> Group(ulong[] patterns, Func<long, int, double> groupCost)
    {
        double Cost(ulong taps, int units) => groupCost(units, BitOperations.PopCount(taps));
        var distinct = Enumerable.Range(0, patterns.Length)
            .GroupBy(u => patterns[u])
            .Select(g => (Taps: g.Key, Units: g.ToList()))
            .OrderByDescending(g => g.Units.Count).ThenBy(g => g.Taps)
            .ToList();
        var groups = distinct.Take(MaxSeeds).ToList();
        foreach (var rare in distinct.Skip(MaxSeeds))
        {
            var best = Enumerable.Range(0, groups.Count)
                .MinBy(k => Cost(groups[k].Taps | rare.Taps, groups[k].Units.Count + rare.Units.Count) - Cost(groups[k].Taps, groups[k].Units.Count));
            groups[best] = (groups[best].Taps | rare.Taps, groups[best].Units.Concat(rare.Units).ToList());
        }

        // Savings of every pair, updated for the merged group only: O(groups^2) cost evaluations in all.
        var costs = groups.Select(g => Cost(g.Taps, g.Units.Count)).ToList();
        var count = groups.Count;
        var alive = Enumerable.Repeat(true, count).ToArray();
        var saving = new double[count, count];
        double Saving(int a, int b) => costs[a] + costs[b] - Cost(groups[a].Taps | groups[b].Taps, groups[a].Units.Count + groups[b].Units.Count);
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
            groups[bestA] = (groups[bestA].Taps | groups[bestB].Taps, groups[bestA].Units.Concat(groups[bestB].Units).ToList());
            costs[bestA] = Cost(groups[bestA].Taps, groups[bestA].Units.Count);
            alive[bestB] = false;
            for (var k = 0; k < count; k++)
            {
                if (k != bestA && alive[k])
                    saving[Math.Min(k, bestA), Math.Max(k, bestA)] = Saving(Math.Min(k, bestA), Math.Max(k, bestA));
            }
        }

        groups = groups.Where((_, k) => alive[k]).ToList();
        foreach (var g in groups)
            g.Units.Sort();
        return groups.OrderBy(g => g.Units[0]).ToList();
    }

    private static GatheredCluster[] Clusters(GatheredLayout layout, ulong[] patterns, List<(ulong Taps, List<int> Units)> groups, bool mirrored)
    {
        var result = new GatheredCluster[groups.Count];
        for (var g = 0; g < groups.Count; g++)
        {
            var (bits, units) = groups[g];
            var taps = Enumerable.Range(0, 64).Where(t => (bits >> t & 1) != 0).ToArray();
            var sources = new int[units.Count * taps.Length];
            for (var i = 0; i < units.Count; i++)
            {
                var pixel = units[i] % layout.Pixels;
                var own = layout.PaddedPosition(pixel);
                for (var s = 0; s < taps.Length; s++)
                {
                    var on = (patterns[units[i]] >> taps[s] & 1) != 0;
                    var offset = layout.TapOffset(taps[s]);
                    sources[i * taps.Length + s] = on ? own + (mirrored ? -offset : offset) : -1;
                }
            }

            result[g] = new GatheredCluster(taps, units.ToArray(), sources);
        }

        return result;
    }
}
