using static TorchSharp.torch;

namespace LocallyMasked.Training;

/// <summary>
/// A data-parallel group of one process, the trainer's default: every sum over the processes is the process's own value
/// and nothing is exchanged.
/// </summary>
public sealed class SingleProcessGroup : IDataParallelGroup
{
    private SingleProcessGroup()
    {
    }

    /// <summary>The group of one.</summary>
    public static SingleProcessGroup Instance { get; } = new();

    /// <inheritdoc />
    public int Size => 1;

    /// <inheritdoc />
    public int Index => 0;

    /// <inheritdoc />
    public void SumGradients(IReadOnlyList<Tensor> parameters) => ArgumentNullException.ThrowIfNull(parameters);

    /// <inheritdoc />
    public void SumInPlace(IReadOnlyList<Tensor> tensors) => ArgumentNullException.ThrowIfNull(tensors);

    /// <inheritdoc />
    public void SumInPlace(Span<double> values)
    {
    }

    /// <inheritdoc />
    public void BroadcastInPlace(IReadOnlyList<Tensor> tensors) => ArgumentNullException.ThrowIfNull(tensors);

    /// <inheritdoc />
    public bool AnyRequestsStop(bool stopRequested, long step) => stopRequested;
}
