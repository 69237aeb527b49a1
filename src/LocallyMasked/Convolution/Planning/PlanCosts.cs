namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// The rates of the operations the computation paths are made of, from which the planner estimates each path's
/// forward + backward time for a layer and picks the fastest. Which rates a plan uses is the layer's
/// <see cref="PlanningPolicy"/>: <see cref="CpuTable"/> (the calibration of the development machine, docs/benchmarks.md)
/// and <see cref="CudaTable"/> by default, or on a CPU the rates <see cref="CostCalibration"/> measures in this process
/// (<see cref="PlanningPolicy.TimingDependent"/>). A CUDA device is never calibrated (no GPU was available to validate
/// it): its table keeps to the dense, periodic and general paths (docs/benchmarks.md, "Planner").
/// </summary>
/// <param name="Source">Where the numbers come from, for descriptions.</param>
/// <param name="ConvolutionFlops">Floating-point operations per second of dense convolutions (conv2d).</param>
/// <param name="ProductFlops">Floating-point operations per second of large matrix products.</param>
/// <param name="ProductHalfDepth">Reduction length at which a matrix product runs at half <paramref name="ProductFlops"/>
/// (short reductions, such as one tap of few channels, are slower).</param>
/// <param name="BytesPerSecond">Bytes per second moved by copies and gathers (written plus read).</param>
/// <param name="OperationSeconds">Fixed cost of one tensor operation (dispatch, thread wake-up, allocation).</param>
/// <param name="GatheredColumns">Whether the gathered-columns path may be chosen.</param>
/// <param name="WideColumns">Whether the wide-columns path may be chosen (otherwise the general path computes what a
/// dense convolution cannot).</param>
internal sealed record PlanCosts(
    string Source,
    double ConvolutionFlops,
    double ProductFlops,
    double ProductHalfDepth,
    double BytesPerSecond,
    double OperationSeconds,
    bool GatheredColumns = true,
    bool WideColumns = true)
{
    /// <summary>Operations of one product call at which it runs at half <see cref="ProductFlops"/> (small products do
    /// not keep every thread busy); 0 when not measured.</summary>
    public double ProductHalfFlops { get; init; }

    /// <summary>Floating-point operations per second of the strided convolutions of periodic patterns (forward and
    /// backward); <see cref="ConvolutionFlops"/> when not measured.</summary>
    public double? StridedConvolutionFlops { get; init; }

    /// <summary>
    /// The development machine's rates, measured by <see cref="CostCalibration"/> while the machine was otherwise idle
    /// (the machine and the run: docs/benchmarks.md, "Planner"): the CPU table of <see cref="PlanningPolicy.Deterministic"/>.
    /// </summary>
    public static PlanCosts CpuTable { get; } = new("cpu table", ConvolutionFlops: 1.85e11, ProductFlops: 1.6e11,
        ProductHalfDepth: 12, BytesPerSecond: 2.5e10, OperationSeconds: 2e-6)
    {
        StridedConvolutionFlops = 1.5e11,
        ProductHalfFlops = 1.6e7,
    };

    /// <summary>
    /// CUDA, not measured: convolutions (cuDNN) and one large product are what a GPU does best, many small operations
    /// what it does worst, so only the dense, periodic and general paths are allowed (rates in the usual proportions of
    /// a data-centre GPU; only their ordering of those paths matters).
    /// </summary>
    public static PlanCosts CudaTable { get; } = new("cuda table (not measured)", ConvolutionFlops: 5e13, ProductFlops: 4e13,
        ProductHalfDepth: 64, BytesPerSecond: 2e12, OperationSeconds: 1e-5, GatheredColumns: false, WideColumns: false);

    /// <summary>Seconds of matrix products of the given operations whose reduction has the given length, made of calls of
    /// the given size (operations per call; one call when null).</summary>
    public double Product(double flops, double depth, double? call = null)
    {
        var size = call ?? flops;
        return flops / (ProductFlops * depth / (depth + ProductHalfDepth) * size / (size + ProductHalfFlops));
    }

    /// <summary>Seconds of a dense convolution's forward and backward (three products) over the given outputs.</summary>
    public double Convolution(double outputs, long inChannels, long outChannels, int area, bool strided = false) =>
        6.0 * outputs * inChannels * outChannels * area / (strided ? StridedConvolutionFlops ?? ConvolutionFlops : ConvolutionFlops) + 3 * OperationSeconds;

    /// <summary>Seconds of moving the given bytes.</summary>
    public double Memory(double bytes) => bytes / BytesPerSecond;

    /// <summary>Seconds of the given number of operations' fixed costs.</summary>
    public double Operations(double count) => count * OperationSeconds;

    /// <summary>A short description of the rates.</summary>
    public override string ToString() => FormattableString.Invariant(
        $"{Source}: conv {ConvolutionFlops / 1e9:F0} GFLOP/s (strided {(StridedConvolutionFlops ?? ConvolutionFlops) / 1e9:F0}), mm {ProductFlops / 1e9:F0} GFLOP/s (half at depth {ProductHalfDepth:F0} and {ProductHalfFlops / 1e6:F0} MFLOP per call), {BytesPerSecond / 1e9:F1} GB/s, {OperationSeconds * 1e6:F1} us/op");
}
