using LocallyMasked.Masks;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// Everything a sampling call's steps need that depends only on the orders, computed once on the host and uploaded as
/// one tensor per table (then split into per-step views), so that a step does no index arithmetic and no transfers:
/// the cache rows each step writes and gathers, the masks' columns at each step's pixels, their visible-tap counts, and
/// which images sample (rather than observe) at each step.
/// </summary>
/// <remarks>
/// Caches are laid out by rows, pixel-major: image i's pixel q is row <c>q * N + i</c>, so the rows of one pixel in all
/// images are adjacent and a step's reads and writes touch a few contiguous blocks rather than N scattered rows; one
/// last row, <see cref="ZeroRow"/>, stays zero and stands for every tap that falls outside the image. A row holds a
/// layer's input at that pixel once the pixel has been processed and zero before, so a gathered neighbourhood is
/// already masked by the order: the taps a mask hides are exactly the pixels not yet processed (and the padding).
/// </remarks>
internal sealed class StepTables
{
    private StepTables(int batch, long pixels, int steps)
    {
        Batch = batch;
        Pixels = pixels;
        Steps = steps;
    }

    /// <summary>Images N.</summary>
    public int Batch { get; }

    /// <summary>Pixels per image, H * W.</summary>
    public long Pixels { get; }

    /// <summary>Rows of a cache: N * H * W pixel rows and the zero row.</summary>
    public long Rows => Batch * Pixels + 1;

    /// <summary>The row that stays zero (taps outside the image).</summary>
    public long ZeroRow => Batch * Pixels;

    /// <summary>Steps of the call (EndStep - FirstStep).</summary>
    public int Steps { get; }

    /// <summary>Whether all images share one order: mask columns and counts then have one row that broadcasts.</summary>
    public bool Shared { get; private init; }

    /// <summary>Per step: the row of each image's pixel, (N) int64.</summary>
    public Tensor[] WriteRows { get; private init; } = Array.Empty<Tensor>();

    /// <summary>
    /// Per role: the kernel taps in the order in which a layer of that role stores its weight rows and gathers its patches,
    /// chosen so that the taps visible at most steps are adjacent (see <see cref="Ranges"/>).
    /// </summary>
    public IReadOnlyDictionary<MaskRole, int[]> TapOrders { get; private init; } = new Dictionary<MaskRole, int[]>();

    /// <summary>
    /// Per role and step: the positions (in the role's tap order) from the first to the last tap that the role's mask shows
    /// in any image. The other taps are hidden in every image, so their rows are zero and a step gathers and multiplies only
    /// this range; the length is 0 when every tap is hidden (the first pixel of the first layer).
    /// </summary>
    public IReadOnlyDictionary<MaskRole, (int Start, int Length)[]> Ranges { get; private init; } = new Dictionary<MaskRole, (int, int)[]>();

    /// <summary>Per role and step: the rows of each image's taps in the step's range, (N * length) int64, image-major; null when the range is empty.</summary>
    public IReadOnlyDictionary<MaskRole, Tensor?[]> GatherRows { get; private init; } = new Dictionary<MaskRole, Tensor?[]>();

    /// <summary>The rows of <see cref="WriteRows"/> on the host, step-major (steps x N).</summary>
    public long[] HostWriteRows { get; private init; } = Array.Empty<long>();

    /// <summary>Per role: the rows of <see cref="GatherRows"/> on the host, all steps in one array, and where each step's begin (steps + 1 entries).</summary>
    public IReadOnlyDictionary<MaskRole, (long[] Rows, long[] Offsets)> HostGatherRows { get; private init; } = new Dictionary<MaskRole, (long[], long[])>();

    /// <summary>Per role (where counted): the visible-tap counts of <see cref="VisibleTaps"/> on the host (steps x 1 or N).</summary>
    public IReadOnlyDictionary<MaskRole, double[]> HostVisibleTaps { get; private init; } = new Dictionary<MaskRole, double[]>();

    /// <summary>Per role (where needed) and step: the role's mask at each image's pixel, (1 or N, k * k), in the model's dtype.</summary>
    public IReadOnlyDictionary<MaskRole, Tensor[]> MaskColumns { get; private init; } = new Dictionary<MaskRole, Tensor[]>();

    /// <summary>Per role (where needed) and step: the number of visible taps, (1 or N, 1), in the model's dtype.</summary>
    public IReadOnlyDictionary<MaskRole, Tensor[]> VisibleTaps { get; private init; } = new Dictionary<MaskRole, Tensor[]>();

    /// <summary>Per step: how many images sample their pixel (the others keep an observed value).</summary>
    public int[] SampledCount { get; private init; } = Array.Empty<int>();

    /// <summary>Per step and image (steps x N): whether the image samples its pixel at that step.</summary>
    public bool[] HostSampled { get; private init; } = Array.Empty<bool>();

    /// <summary>Per step where some but not all images sample: which do, (N, 1) bool; null at other steps.</summary>
    public Tensor?[] Sampled { get; private init; } = Array.Empty<Tensor?>();

    /// <summary>Per step where some image observes its pixel: the observed values, (N, C); null at other steps.</summary>
    public Tensor?[] Observed { get; private init; } = Array.Empty<Tensor?>();

    /// <summary>Builds the tables of a plan; the tensors belong to the caller's dispose scope.</summary>
    /// <param name="plan">The call's orders, region and starting images.</param>
    /// <param name="kernelSize">The model's kernel side k.</param>
    /// <param name="maskRoles">The roles whose mask columns the steps read (and, with <paramref name="countRoles"/>, count).</param>
    /// <param name="countRoles">The roles whose visible-tap counts the steps read.</param>
    /// <param name="maxDilation">The dilation of the dilated role's mask.</param>
    /// <param name="dtype">The model's dtype.</param>
    /// <param name="device">The model's device.</param>
    public static StepTables Create(SamplingPlan plan, int kernelSize, IEnumerable<MaskRole> maskRoles,
        IEnumerable<MaskRole> countRoles, int maxDilation, ScalarType dtype, Device device)
    {
        int n = plan.Orders.Count, steps = plan.EndStep - plan.FirstStep, first = plan.FirstStep, taps = kernelSize * kernelSize, half = kernelSize / 2;
        var order0 = plan.Orders[0];
        int height = order0.Height, width = order0.Width;
        long pixels = (long)height * width, zero = n * pixels;
        bool shared = plan.SharedOrder;

        var write = new long[(long)steps * n];
        for (int s = 0; s < steps; s++)
            for (int i = 0; i < n; i++)
                write[(long)s * n + i] = (long)plan.PixelAt(i, first + s) * n + i;

        var counted = countRoles.ToHashSet();
        var read = maskRoles.ToHashSet();
        var tapOrders = new Dictionary<MaskRole, int[]>();
        var ranges = new Dictionary<MaskRole, (int, int)[]>();
        var gather = new Dictionary<MaskRole, Tensor?[]>();
        var columns = new Dictionary<MaskRole, Tensor[]>();
        var visible = new Dictionary<MaskRole, Tensor[]>();
        var hostGather = new Dictionary<MaskRole, (long[], long[])>();
        var hostVisible = new Dictionary<MaskRole, double[]>();
        foreach (var role in new[] { MaskRole.First, MaskRole.Undilated, MaskRole.Dilated })
        {
            var (dilation, type) = role switch
            {
                MaskRole.First => (1, MaskType.A),
                MaskRole.Undilated => (1, MaskType.B),
                _ => (maxDilation, MaskType.B),
            };
            // The model's own masks (the same function MaskSet uses), read at each step's pixel.
            var masks = new Dictionary<GenerationOrder, byte[]>();
            byte[] MaskOf(int image)
            {
                var order = plan.Orders[image];
                if (!masks.TryGetValue(order, out var mask)) masks[order] = mask = LocalMasks.CreateArray(order, kernelSize, dilation, type);
                return mask;
            }

            // Which taps each step shows in any image.
            var shown = new bool[steps, taps];
            for (int s = 0; s < steps; s++)
            {
                for (int i = 0; i < n; i++)
                {
                    var mask = MaskOf(i);
                    int p = plan.PixelAt(i, first + s);
                    for (int t = 0; t < taps; t++) shown[s, t] |= mask[(long)t * pixels + p] != 0;
                }
            }
            var tapOrder = TapOrder(shown, steps, taps);
            var position = new int[taps];
            for (int at = 0; at < taps; at++) position[tapOrder[at]] = at;
            var stepRanges = new (int Start, int Length)[steps];
            for (int s = 0; s < steps; s++)
            {
                int lo = taps, hi = -1;
                for (int t = 0; t < taps; t++)
                {
                    if (!shown[s, t]) continue;
                    lo = Math.Min(lo, position[t]);
                    hi = Math.Max(hi, position[t]);
                }
                stepRanges[s] = hi < 0 ? (0, 0) : (lo, hi - lo + 1);
            }

            // The rows of the taps in each step's range, in one upload.
            var offsets = new long[steps + 1];
            for (int s = 0; s < steps; s++) offsets[s + 1] = offsets[s] + (long)n * stepRanges[s].Length;
            var rows = new long[offsets[steps]];
            for (int s = 0; s < steps; s++)
            {
                var (lo, length) = stepRanges[s];
                for (int i = 0; i < n; i++)
                {
                    int p = plan.PixelAt(i, first + s), r = p / width, c = p % width;
                    for (int k = 0; k < length; k++)
                    {
                        int t = tapOrder[lo + k];
                        int rr = r + (t / kernelSize - half) * dilation, cc = c + (t % kernelSize - half) * dilation;
                        rows[offsets[s] + (long)i * length + k] = rr >= 0 && rr < height && cc >= 0 && cc < width ? ((long)rr * width + cc) * n + i : zero;
                    }
                }
            }
            var stepRows = new Tensor?[steps];
            if (rows.Length > 0)
            {
                using var table = tensor(rows, ScalarType.Int64).to(device);
                for (int s = 0; s < steps; s++)
                    if (stepRanges[s].Length > 0) stepRows[s] = table.narrow(0, offsets[s], offsets[s + 1] - offsets[s]);
            }
            hostGather[role] = (rows, offsets);
            tapOrders[role] = tapOrder;
            ranges[role] = stepRanges;
            gather[role] = stepRows;

            if (!read.Contains(role) && !counted.Contains(role)) continue;
            int rowsPerStep = shared ? 1 : n;
            var values = new double[(long)steps * rowsPerStep * taps];
            var counts = new double[(long)steps * rowsPerStep];
            for (int s = 0; s < steps; s++)
            {
                for (int i = 0; i < rowsPerStep; i++)
                {
                    var mask = MaskOf(i);
                    int p = plan.PixelAt(i, first + s);
                    long at = (long)s * rowsPerStep + i;
                    for (int t = 0; t < taps; t++)
                    {
                        values[at * taps + t] = mask[(long)t * pixels + p];
                        counts[at] += mask[(long)t * pixels + p];
                    }
                }
            }
            if (read.Contains(role)) columns[role] = Upload(values, new long[] { steps, rowsPerStep, taps }, dtype, device);
            if (counted.Contains(role))
            {
                visible[role] = Upload(counts, new long[] { steps, rowsPerStep, 1 }, dtype, device);
                hostVisible[role] = counts;
            }
        }

        var sampledCount = new int[steps];
        var sampled = new Tensor?[steps];
        var observed = new Tensor?[steps];
        var flags = new bool[n];
        var hostSampled = new bool[(long)steps * n];
        using var startRows = plan.Start.view(n, plan.Start.shape[1], pixels);
        for (int s = 0; s < steps; s++)
        {
            for (int i = 0; i < n; i++)
            {
                flags[i] = plan.Region[plan.PixelAt(i, first + s)];
                hostSampled[(long)s * n + i] = flags[i];
                if (flags[i]) sampledCount[s]++;
            }
            if (sampledCount[s] == n) continue;
            if (sampledCount[s] > 0) sampled[s] = tensor(flags, new long[] { n, 1 }, ScalarType.Bool, device);
            // Only completion has observed pixels inside the steps; they are read from the starting images once here.
            using var pixel = tensor(Enumerable.Range(0, n).Select(i => (long)plan.PixelAt(i, first + s)).ToArray(), new long[] { n, 1, 1 }, ScalarType.Int64, device);
            using var index = pixel.expand(n, startRows.shape[1], 1);
            observed[s] = startRows.gather(2, index).squeeze(2);
        }

        return new StepTables(n, pixels, steps)
        {
            Shared = shared,
            WriteRows = Upload(write, new long[] { steps, n }, ScalarType.Int64, device),
            HostWriteRows = write,
            HostGatherRows = hostGather,
            HostVisibleTaps = hostVisible,
            TapOrders = tapOrders,
            Ranges = ranges,
            GatherRows = gather,
            MaskColumns = columns,
            VisibleTaps = visible,
            SampledCount = sampledCount,
            HostSampled = hostSampled,
            Sampled = sampled,
            Observed = observed,
        };
    }

    /// <summary>
    /// An order of the taps in which the taps shown at a step tend to be adjacent, so that the steps' ranges are short:
    /// hill climbing by swaps from the natural order and from a few fixed shuffles, minimizing the summed range lengths
    /// (each distinct pattern of shown taps counted once per step). Deterministic; at most kernels of 64 taps are ordered.
    /// </summary>
    private static int[] TapOrder(bool[,] shown, int steps, int taps)
    {
        var natural = Enumerable.Range(0, taps).ToArray();
        if (taps > 64) return natural;
        var patterns = new Dictionary<ulong, int>();
        for (int s = 0; s < steps; s++)
        {
            ulong pattern = 0;
            for (int t = 0; t < taps; t++) if (shown[s, t]) pattern |= 1UL << t;
            if (pattern != 0) patterns[pattern] = patterns.GetValueOrDefault(pattern) + 1;
        }
        var counted = patterns.ToArray();
        long Cost(int[] order)
        {
            long cost = 0;
            foreach (var (pattern, count) in counted)
            {
                int lo = -1, hi = -1;
                for (int at = 0; at < taps; at++)
                {
                    if ((pattern >> order[at] & 1) == 0) continue;
                    if (lo < 0) lo = at;
                    hi = at;
                }
                cost += (long)count * (hi - lo + 1);
            }
            return cost;
        }

        var best = natural;
        long bestCost = Cost(natural);
        var random = new Random(17);
        for (int start = 0; start < 8; start++)
        {
            var order = (int[])natural.Clone();
            if (start > 0) random.Shuffle(order);
            long cost = Cost(order);
            for (bool improved = true; improved;)
            {
                improved = false;
                for (int a = 0; a < taps; a++)
                {
                    for (int b = a + 1; b < taps; b++)
                    {
                        (order[a], order[b]) = (order[b], order[a]);
                        long swapped = Cost(order);
                        if (swapped < cost)
                        {
                            cost = swapped;
                            improved = true;
                        }
                        else
                        {
                            (order[a], order[b]) = (order[b], order[a]);
                        }
                    }
                }
            }
            if (cost < bestCost)
            {
                best = order;
                bestCost = cost;
            }
        }
        return best;
    }

    // One host-to-device copy per table; the per-step entries are views of it.
    private static Tensor[] Upload(long[] values, long[] shape, ScalarType dtype, Device device)
    {
        using var host = tensor(values, shape, dtype);
        return Split(host, dtype, device);
    }

    private static Tensor[] Upload(double[] values, long[] shape, ScalarType dtype, Device device)
    {
        using var host = tensor(values, shape, ScalarType.Float64);
        return Split(host, dtype, device);
    }

    private static Tensor[] Split(Tensor host, ScalarType dtype, Device device)
    {
        if (host.shape[0] == 0) return Array.Empty<Tensor>();
        using var table = host.to(dtype, device);
        return table.unbind(0);
    }
}
