using static TorchSharp.torch;

namespace LocallyMasked.Training;

/// <summary>
/// The processes that train one model together in data parallel, as a <see cref="Trainer"/> sees them: the seam through
/// which everything that must agree across processes passes before the divergence check, clipping and the optimizer (the
/// gradients, the step's losses, the evaluations' log-likelihoods, a request to stop) and the state that must start equal
/// (the initial weights). Inside a process the trainer's shards are summed over its worker threads in shard order; the
/// group then sums those sums over the processes in index order. <see cref="SingleProcessGroup"/> is a group of one (the
/// sums change nothing); <c>LocallyMasked.Training.Distributed.MpiDataParallelGroup</c> sums over the ranks of an MPI job.
/// </summary>
/// <remarks>
/// Every member but <see cref="Size"/> and <see cref="Index"/> is a collective: every process of the group calls it at the
/// same point with tensors of the same shapes, data types and order. Sums are taken in index order, element by element,
/// <c>((x0 + x1) + x2) + ...</c>, so that a result is bitwise what one process gets by adding the processes' tensors one
/// after the other, the same on every process: a trainer whose processes compute the shards of one process's workers
/// then makes bit for bit that process's update.
/// </remarks>
public interface IDataParallelGroup
{
    /// <summary>Number of processes (at least 1).</summary>
    int Size { get; }

    /// <summary>This process's index, from 0 to <see cref="Size"/> - 1; process 0 is the one whose state the others take.</summary>
    int Index { get; }

    /// <summary>
    /// Replaces each parameter's gradient with its sum over the processes, in index order. A parameter without a gradient on
    /// some processes counts as zeros there; one without a gradient on every process keeps none.
    /// </summary>
    /// <param name="parameters">The parameters, in the same order on every process.</param>
    void SumGradients(IReadOnlyList<Tensor> parameters);

    /// <summary>Replaces each tensor with its element-wise sum over the processes, in index order.</summary>
    /// <param name="tensors">float32 or float64 tensors of one device, the same shapes in the same order on every process.</param>
    void SumInPlace(IReadOnlyList<Tensor> tensors);

    /// <summary>Replaces each value with its sum over the processes, in index order.</summary>
    /// <param name="values">The values, as many on every process.</param>
    void SumInPlace(Span<double> values);

    /// <summary>Replaces each tensor's values with those of process 0 (bit for bit, any data type).</summary>
    /// <param name="tensors">The tensors, the same shapes and data types in the same order on every process.</param>
    void BroadcastInPlace(IReadOnlyList<Tensor> tensors);

    /// <summary>
    /// Whether any process asks to stop: the trainer calls it once in every step, after computing its shards and before
    /// the step's sums, so every process stops after the same step. An implementation may use it to check that every
    /// process is still there and name one that is not.
    /// </summary>
    /// <param name="stopRequested">Whether this process asks to stop after this step.</param>
    /// <param name="step">The step's number (for a message naming where a process was lost).</param>
    bool AnyRequestsStop(bool stopRequested, long step);
}
