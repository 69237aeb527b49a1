using LocallyMasked.Convolution.Planning;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution;

/// <summary>
/// What chooses how a locally masked convolution is computed. Every path computes the same convolution, but the paths
/// add their terms in different orders, so the choice decides the last bits of the results. A policy is an immutable
/// value given to the layers and the model when they are built (<see cref="LocallyMaskedConv2d"/>,
/// <c>LocallyMaskedPixelCnn</c>); the default, <see cref="Deterministic"/>, plans from fixed tables, so that a run
/// repeats bit for bit on any machine and under any load.
/// </summary>
public sealed record PlanningPolicy
{
    private readonly PlanCosts? _cpu;
    private readonly PlanCosts _cuda;

    private PlanningPolicy(string name, PlanCosts? cpu, PlanCosts cuda)
    {
        Name = name;
        _cpu = cpu;
        _cuda = cuda;
    }

    /// <summary>
    /// The default: paths chosen from fixed operation rates (on a CPU those of the development machine,
    /// docs/benchmarks.md "Planner"; on CUDA a table that keeps to the dense, periodic and general paths). Plans depend
    /// only on the masks and the layer's shape, dtype and device type.
    /// </summary>
    public static PlanningPolicy Deterministic { get; } = new("deterministic", PlanCosts.CpuTable, PlanCosts.CudaTable);

    /// <summary>
    /// Opt-in: on a CPU, paths chosen from operation rates measured on this machine at the first plan of each dtype and
    /// thread count (a few timings, under a second), so that another CPU gets thresholds of its own. Plans then depend
    /// on timings: a calibration on a busy machine may choose other paths than one on an idle machine, and results can
    /// differ in the last bits from run to run. CUDA devices use the same table as <see cref="Deterministic"/>.
    /// </summary>
    public static PlanningPolicy TimingDependent { get; } = new("timing-dependent", null, PlanCosts.CudaTable);

    /// <summary>A short name for descriptions.</summary>
    public string Name { get; }

    /// <summary>Whether plans depend on timings measured in this process (<see cref="TimingDependent"/>).</summary>
    public bool DependsOnTimings => _cpu is null;

    /// <summary>
    /// From this many filters on, <c>LocallyMaskedPixelCnn</c> computes a batch whose images mix orders as one pass per
    /// order (each on its order's shared masks) instead of one pass with per-image masks; below it, one pass. The
    /// measurements behind the default are in docs/benchmarks.md ("training-step-report --grouping").
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public int GroupingMinFilters
    {
        get => _groupingMinFilters;
        init => _groupingMinFilters = value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(GroupingMinFilters), value, "Expected at least 1 filter.");
    }

    private readonly int _groupingMinFilters = DefaultGroupingMinFilters;

    private const int DefaultGroupingMinFilters = 512;

    /// <summary>For tests: a policy that plans every device with the given table.</summary>
    internal static PlanningPolicy FromTable(PlanCosts table) => new($"table ({table.Source})", table, table);

    /// <summary>The operation rates plans for a device and dtype are chosen with.</summary>
    internal PlanCosts CostsFor(Device device, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.type != DeviceType.CPU)
            return _cuda;
        return _cpu ?? CostCalibration.MeasuredOnce(dtype);
    }

    /// <summary>The name and, when not the default, the grouping threshold.</summary>
    public override string ToString() => GroupingMinFilters == DefaultGroupingMinFilters ? Name : $"{Name}, grouping from {GroupingMinFilters} filters";
}
