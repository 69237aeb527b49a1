using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// The cost model that decides between a mask's computation paths, in units of one tap of a dense 3x3 convolution
/// (which costs 9). Only the ordering of the estimates matters. The values are a table per device type: the CPU table
/// was fitted to forward + backward timings of single layers (docs/benchmarks.md, "Layer" section, and the planner
/// notes there); a device type without measurements of its own uses the CPU table, as documented in
/// docs/architecture.md.
/// </summary>
/// <param name="DenseFixed">Fixed part of a dense convolution.</param>
/// <param name="DensePerTap">Cost per tap of the box of a dense convolution (a bigger kernel is cheaper per tap).</param>
/// <param name="ColumnTapBase">Cost of one masked-column tap, the part that scales with the channel count.</param>
/// <param name="ColumnTapPerChannelPass">The memory passes of a column tap that do not shrink with the channel count,
/// divided by the number of input channels.</param>
/// <param name="ColumnTapCopyFactor">Factor for column taps that are not one grid (one copy per tap plus a masking pass).</param>
/// <param name="ColumnFixed">Fixed cost of the masked-columns product (padding, output copy).</param>
/// <param name="ConvolutionFixed">Fixed cost of a dense convolution whose output is cropped or added to the columns' output.</param>
/// <param name="PeriodicClassFixed">Fixed cost of each residue class of a periodic pattern (one strided convolution).</param>
/// <param name="PeriodicFixed">Fixed cost of interleaving the classes of a periodic pattern.</param>
internal sealed record PlanCosts(
    double DenseFixed,
    double DensePerTap,
    double ColumnTapBase,
    double ColumnTapPerChannelPass,
    double ColumnTapCopyFactor,
    double ColumnFixed,
    double ConvolutionFixed,
    double PeriodicClassFixed,
    double PeriodicFixed)
{
    /// <summary>The table fitted on a CPU (docs/benchmarks.md).</summary>
    public static PlanCosts Cpu { get; } = new(
        DenseFixed: 2.0, DensePerTap: 7.0 / 9.0, ColumnTapBase: 1.15, ColumnTapPerChannelPass: 20.0,
        ColumnTapCopyFactor: 1.15, ColumnFixed: 0.5, ConvolutionFixed: 1.0, PeriodicClassFixed: 0.25, PeriodicFixed: 0.5);

    /// <summary>The table for a device: its own where one was measured, else the CPU table (so far only CPUs were measured).</summary>
    /// <param name="device">The device the convolution runs on.</param>
    public static PlanCosts For(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Cpu;
    }

    /// <summary>Cost of a dense convolution over a box of the given area.</summary>
    public double Dense(int area) => DenseFixed + area * DensePerTap;

    /// <summary>Cost of one column tap with the given number of input channels.</summary>
    public double ColumnTap(int inChannels, bool grid) =>
        (ColumnTapBase + ColumnTapPerChannelPass / Math.Max(1, inChannels)) * (grid ? 1.0 : ColumnTapCopyFactor);
}
