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
/// Caches are laid out by rows: image i's pixel q is row <c>i * H * W + q</c>, and one last row, <see cref="ZeroRow"/>,
/// stays zero and stands for every tap that falls outside the image. A row holds a layer's input at that pixel once the
/// pixel has been processed and zero before, so a gathered neighbourhood is already masked by the order: the taps a
/// mask hides are exactly the pixels not yet processed (and the padding).
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

    /// <summary>Per dilation and step: the rows of each image's k x k taps, (N * k * k) int64, image-major then tap.</summary>
    public IReadOnlyDictionary<int, Tensor[]> GatherRows { get; private init; } = new Dictionary<int, Tensor[]>();

    /// <summary>Per role (where needed) and step: the role's mask at each image's pixel, (1 or N, k * k), in the model's dtype.</summary>
    public IReadOnlyDictionary<MaskRole, Tensor[]> MaskColumns { get; private init; } = new Dictionary<MaskRole, Tensor[]>();

    /// <summary>Per role (where needed) and step: the number of visible taps, (1 or N, 1), in the model's dtype.</summary>
    public IReadOnlyDictionary<MaskRole, Tensor[]> VisibleTaps { get; private init; } = new Dictionary<MaskRole, Tensor[]>();

    /// <summary>Per step: how many images sample their pixel (the others keep an observed value).</summary>
    public int[] SampledCount { get; private init; } = Array.Empty<int>();

    /// <summary>Per step where some but not all images sample: which do, (N, 1) bool; null at other steps.</summary>
    public Tensor?[] Sampled { get; private init; } = Array.Empty<Tensor?>();

    /// <summary>Per step where some image observes its pixel: the observed values, (N, C); null at other steps.</summary>
    public Tensor?[] Observed { get; private init; } = Array.Empty<Tensor?>();

    /// <summary>Builds the tables of a plan; the tensors belong to the caller's dispose scope.</summary>
    /// <param name="plan">The call's orders, region and starting images.</param>
    /// <param name="kernelSize">The model's kernel side k.</param>
    /// <param name="dilations">The dilations of the model's convolutions.</param>
    /// <param name="maskRoles">The roles whose mask columns the steps read (and, with <paramref name="countRoles"/>, count).</param>
    /// <param name="countRoles">The roles whose visible-tap counts the steps read.</param>
    /// <param name="maxDilation">The dilation of the dilated role's mask.</param>
    /// <param name="dtype">The model's dtype.</param>
    /// <param name="device">The model's device.</param>
    public static StepTables Create(SamplingPlan plan, int kernelSize, IEnumerable<int> dilations, IEnumerable<MaskRole> maskRoles,
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
                write[(long)s * n + i] = i * pixels + plan.PixelAt(i, first + s);

        var gather = new Dictionary<int, Tensor[]>();
        foreach (int d in dilations.Distinct())
        {
            var rows = new long[(long)steps * n * taps];
            for (int s = 0; s < steps; s++)
            {
                for (int i = 0; i < n; i++)
                {
                    int p = plan.PixelAt(i, first + s), r = p / width, c = p % width;
                    long at = ((long)s * n + i) * taps;
                    for (int t = 0; t < taps; t++)
                    {
                        int rr = r + (t / kernelSize - half) * d, cc = c + (t % kernelSize - half) * d;
                        rows[at + t] = rr >= 0 && rr < height && cc >= 0 && cc < width ? i * pixels + (long)rr * width + cc : zero;
                    }
                }
            }
            gather[d] = Upload(rows, new long[] { steps, n * taps }, ScalarType.Int64, device);
        }

        var counted = countRoles.ToHashSet();
        var columns = new Dictionary<MaskRole, Tensor[]>();
        var visible = new Dictionary<MaskRole, Tensor[]>();
        foreach (var role in maskRoles.Concat(counted).Distinct())
        {
            var (dilation, type) = role switch
            {
                MaskRole.First => (1, MaskType.A),
                MaskRole.Undilated => (1, MaskType.B),
                _ => (maxDilation, MaskType.B),
            };
            // The model's own masks (the same function MaskSet uses), read at each step's pixel.
            var masks = new Dictionary<GenerationOrder, byte[]>();
            int rowsPerStep = shared ? 1 : n;
            var values = new double[(long)steps * rowsPerStep * taps];
            var counts = new double[(long)steps * rowsPerStep];
            for (int s = 0; s < steps; s++)
            {
                for (int i = 0; i < rowsPerStep; i++)
                {
                    var order = plan.Orders[i];
                    if (!masks.TryGetValue(order, out var mask)) masks[order] = mask = LocalMasks.CreateArray(order, kernelSize, dilation, type);
                    int p = plan.PixelAt(i, first + s);
                    long at = (long)s * rowsPerStep + i;
                    for (int t = 0; t < taps; t++)
                    {
                        values[at * taps + t] = mask[(long)t * pixels + p];
                        counts[at] += mask[(long)t * pixels + p];
                    }
                }
            }
            columns[role] = Upload(values, new long[] { steps, rowsPerStep, taps }, dtype, device);
            if (counted.Contains(role)) visible[role] = Upload(counts, new long[] { steps, rowsPerStep, 1 }, dtype, device);
        }

        var sampledCount = new int[steps];
        var sampled = new Tensor?[steps];
        var observed = new Tensor?[steps];
        var flags = new bool[n];
        using var startRows = plan.Start.view(n, plan.Start.shape[1], pixels);
        for (int s = 0; s < steps; s++)
        {
            for (int i = 0; i < n; i++)
            {
                flags[i] = plan.Region[plan.PixelAt(i, first + s)];
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
            GatherRows = gather,
            MaskColumns = columns,
            VisibleTaps = visible,
            SampledCount = sampledCount,
            Sampled = sampled,
            Observed = observed,
        };
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
