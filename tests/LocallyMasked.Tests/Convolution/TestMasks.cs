using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

/// <summary>Independent mask construction for the convolution tests (from a rank per pixel).</summary>
internal static class TestMasks
{
    /// <summary>Ranks of the raster order: row by row, left to right.</summary>
    public static int[] RasterRanks(int h, int w) => Enumerable.Range(0, h * w).ToArray();

    /// <summary>Ranks of the S-curve: even rows left to right, odd rows right to left.</summary>
    public static int[] SCurveRanks(int h, int w)
    {
        var ranks = new int[h * w];
        for (var i = 0; i < h; i++)
            for (var j = 0; j < w; j++)
                ranks[i * w + j] = i * w + (i % 2 == 0 ? j : w - 1 - j);
        return ranks;
    }

    /// <summary>Ranks of a random order.</summary>
    public static int[] RandomRanks(int h, int w, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, h * w).OrderBy(_ => random.Next()).ToArray();
    }

    /// <summary>
    /// The (k*k, H*W) mask: 1 where tap t of pixel p lands inside the image on a pixel of lower rank, or is the
    /// centre tap for type B; 0 elsewhere.
    /// </summary>
    public static double[,] FromRanks(int h, int w, IReadOnlyList<int> ranks, int kernelSize, int dilation, bool typeB)
    {
        var mask = new double[kernelSize * kernelSize, h * w];
        var half = kernelSize / 2;
        for (var i = 0; i < h; i++)
        {
            for (var j = 0; j < w; j++)
            {
                var p = i * w + j;
                for (var ki = 0; ki < kernelSize; ki++)
                {
                    for (var kj = 0; kj < kernelSize; kj++)
                    {
                        var (qi, qj) = (i + (ki - half) * dilation, j + (kj - half) * dilation);
                        var centre = ki == half && kj == half;
                        var inside = qi >= 0 && qi < h && qj >= 0 && qj < w;
                        var on = centre ? typeB : inside && ranks[qi * w + qj] < ranks[p];
                        mask[ki * kernelSize + kj, p] = on ? 1.0 : 0.0;
                    }
                }
            }
        }

        return mask;
    }

    /// <summary>The mask as a float64 tensor (k*k, H*W).</summary>
    public static Tensor Tensor(int h, int w, IReadOnlyList<int> ranks, int kernelSize, int dilation, bool typeB)
        => tensor(FromRanks(h, w, ranks, kernelSize, dilation, typeB), ScalarType.Float64);

    /// <summary>Per-sample masks (N, k*k, H*W), one order per sample.</summary>
    public static Tensor PerSample(int h, int w, IEnumerable<int[]> ranks, int kernelSize, int dilation, bool typeB)
        => stack(ranks.Select(r => Tensor(h, w, r, kernelSize, dilation, typeB)).ToArray());
}
