using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// A 0/1 mask whose per-pixel kernel pattern repeats with a small period (rows and columns), such as the S-curve's
/// (even rows see the left neighbour, odd rows the right one; period 2 x 1). Taps that land on the zero padding are
/// "don't care", so border pixels join their interior class. Each residue class (a, b) is then one dense strided
/// convolution (stride = period) with its own kernel cropped to the bounding box of its taps, and the classes are
/// interleaved into the output: the dense taps computed add up to about one box per pixel, all in libtorch's
/// convolution kernels, with their own backward.
/// </summary>
/// <remarks>Immutable; its tensors live outside any dispose scope.</remarks>
internal sealed class PeriodicPattern
{
    /// <summary>Most rows or columns of a period tried.</summary>
    internal const int MaxPeriod = 4;

    private PeriodicPattern(int rowPeriod, int colPeriod, IReadOnlyList<PeriodicClass> classes)
    {
        RowPeriod = rowPeriod;
        ColPeriod = colPeriod;
        Classes = classes;
    }

    /// <summary>Rows of the period.</summary>
    public int RowPeriod { get; }

    /// <summary>Columns of the period.</summary>
    public int ColPeriod { get; }

    /// <summary>The residue classes, each with its kernel box and the 0/1 mask of that box.</summary>
    public IReadOnlyList<PeriodicClass> Classes { get; }

    /// <summary>A short description.</summary>
    public override string ToString() => $"periodic {RowPeriod}x{ColPeriod}: " + string.Join(", ", Classes.Select(c => $"{c.Box.Row1 - c.Box.Row0 + 1}x{c.Box.Col1 - c.Box.Col0 + 1}"));

    /// <summary>
    /// The smallest period (at most <see cref="MaxPeriod"/> each way, more than one pixel) under which every residue
    /// class has one consistent 0/1 pattern in every sample, or null.
    /// </summary>
    /// <param name="values">Mask values [b, t, p] flattened.</param>
    /// <param name="batch">Number of masks in <paramref name="values"/>.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="dtype">dtype of the box masks.</param>
    /// <param name="device">Device of the box masks.</param>
    public static PeriodicPattern? Find(double[] values, int batch, int height, int width, int kernelSize, int dilation, ScalarType dtype, Device device)
    {
        if (values.Any(v => v != 0.0 && v != 1.0))
            return null;
        var periods = Enumerable.Range(1, MaxPeriod)
            .SelectMany(r => Enumerable.Range(1, MaxPeriod).Select(c => (Rows: r, Cols: c)))
            .Where(p => p.Rows * p.Cols > 1 && p.Rows <= height && p.Cols <= width)
            .OrderBy(p => p.Rows * p.Cols).ThenBy(p => p.Rows);
        foreach (var (rows, cols) in periods)
        {
            var patterns = ClassPatterns(values, batch, height, width, kernelSize, dilation, rows, cols);
            if (patterns is null)
                continue;
            var classes = new List<PeriodicClass>();
            using var scope = NewDisposeScope();
            for (var a = 0; a < rows; a++)
            {
                for (var b = 0; b < cols; b++)
                {
                    var on = Enumerable.Range(0, kernelSize * kernelSize).Where(t => patterns[a, b, t] == 1).ToArray();
                    // A class that sees nothing still needs a (zero) kernel for its bias: the centre tap, masked off.
                    var box = on.Length == 0
                        ? (kernelSize / 2, kernelSize / 2, kernelSize / 2, kernelSize / 2)
                        : (on.Min(t => t / kernelSize), on.Max(t => t / kernelSize), on.Min(t => t % kernelSize), on.Max(t => t % kernelSize));
                    var (boxRows, boxCols) = (box.Item2 - box.Item1 + 1, box.Item4 - box.Item3 + 1);
                    var kernel = new double[boxRows * boxCols];
                    foreach (var t in on)
                        kernel[(t / kernelSize - box.Item1) * boxCols + t % kernelSize - box.Item3] = 1.0;
                    var boxMask = tensor(kernel, new long[] { boxRows, boxCols }, ScalarType.Float64).to(dtype, device).DetachFromDisposeScope();
                    classes.Add(new PeriodicClass(a, b, box, boxMask));
                }
            }

            return new PeriodicPattern(rows, cols, classes);
        }

        return null;
    }

    /// <summary>
    /// Per class and tap: 1 (on wherever it lands inside the image), 0 (off wherever it lands inside the image), or -1
    /// (always on padding); null when some class has a tap both on and off.
    /// </summary>
    private static int[,,]? ClassPatterns(double[] values, int batch, int height, int width, int kernelSize, int dilation, int rowPeriod, int colPeriod)
    {
        var taps = kernelSize * kernelSize;
        var pixels = height * width;
        var half = kernelSize / 2;
        var patterns = new int[rowPeriod, colPeriod, taps];
        for (var a = 0; a < rowPeriod; a++)
            for (var b = 0; b < colPeriod; b++)
                for (var t = 0; t < taps; t++)
                    patterns[a, b, t] = -1;
        for (var t = 0; t < taps; t++)
        {
            var (di, dj) = ((t / kernelSize - half) * dilation, (t % kernelSize - half) * dilation);
            for (var n = 0; n < batch; n++)
            {
                for (var p = 0; p < pixels; p++)
                {
                    var (i, j) = (p / width, p % width);
                    if (i + di < 0 || i + di >= height || j + dj < 0 || j + dj >= width)
                        continue;
                    var v = values[(n * taps + t) * pixels + p] == 1.0 ? 1 : 0;
                    ref var seen = ref patterns[i % rowPeriod, j % colPeriod, t];
                    if (seen == -1)
                        seen = v;
                    else if (seen != v)
                        return null;
                }
            }
        }

        return patterns;
    }

    /// <summary>
    /// The convolution: one strided dense convolution per class, written into its rows and columns of the output.
    /// Each convolution reads x itself with symmetric zero padding (no padded copy, and a contiguous input that the
    /// convolution kernels need not copy); its first useful output row (column) is m periods in, as
    /// <see cref="Alignment"/> chooses.
    /// </summary>
    public Tensor Apply(Tensor x, Tensor weight, Tensor? bias, int kernelSize, int dilation)
    {
        using var scope = NewDisposeScope();
        var (n, h, w) = (x.shape[0], x.shape[2], x.shape[3]);
        var output = torch.empty(new[] { n, weight.shape[0], h, w }, x.dtype, x.device);
        foreach (var c in Classes)
        {
            var (rows, cols) = ((h - c.RowPhase + RowPeriod - 1) / RowPeriod, (w - c.ColPhase + ColPeriod - 1) / ColPeriod);
            if (rows <= 0 || cols <= 0)
                continue;
            var (boxRows, boxCols) = (c.Box.Row1 - c.Box.Row0 + 1, c.Box.Col1 - c.Box.Col0 + 1);
            var (padRows, skipRows) = Alignment(h, c.RowPhase, RowPeriod, c.Box.Row0, c.Box.Row1, kernelSize, dilation);
            var (padCols, skipCols) = Alignment(w, c.ColPhase, ColPeriod, c.Box.Col0, c.Box.Col1, kernelSize, dilation);
            var kernel = weight.narrow(2, c.Box.Row0, boxRows).narrow(3, c.Box.Col0, boxCols) * c.BoxMask;
            var y = nn.functional.conv2d(x, kernel, bias, strides: new long[] { RowPeriod, ColPeriod },
                padding: new long[] { padRows, padCols }, dilation: new long[] { dilation, dilation });
            if (y.shape[2] < skipRows + rows || y.shape[3] < skipCols + cols)
                throw new InvalidOperationException($"Periodic class ({c.RowPhase}, {c.ColPhase}) produced {y.shape[2]}x{y.shape[3]} outputs, fewer than the {skipRows + rows}x{skipCols + cols} it needs.");
            var target = output.slice(2, c.RowPhase, h, RowPeriod).slice(3, c.ColPhase, w, ColPeriod);
            target.copy_(y.narrow(2, skipRows, rows).narrow(3, skipCols, cols));
        }

        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Padding p and skipped outputs m such that output m + u of a stride-period convolution over a side of the given
    /// size starts reading at input firstRead + period * u (p = m * period - firstRead), with the smallest m for which
    /// p is non-negative and the symmetric padding also covers the reads of the class's last output.
    /// </summary>
    internal static (long Padding, long Skip) Alignment(long size, int phase, int period, int box0, int box1, int kernelSize, int dilation)
    {
        var count = Math.Max(0, (size - phase + period - 1) / period);
        var firstRead = phase + (box0 - kernelSize / 2) * (long)dilation;
        var skip = firstRead > 0 ? (firstRead + period - 1) / period : 0;
        while (true)
        {
            var padding = skip * period - firstRead;
            var outputs = (size + 2 * padding - (box1 - box0) * (long)dilation - 1) / period + 1;
            if (outputs >= skip + count)
                return (padding, skip);
            skip++;
        }
    }
}
