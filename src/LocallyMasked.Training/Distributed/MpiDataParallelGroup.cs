using System.Globalization;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// The ranks of an MPI job as a trainer's data-parallel group: sums in rank order through the communicator's fixed-order
/// allreduce (<see cref="GradientAllreduce"/>, in buckets), rank 0's tensors through broadcasts, and the step's stop
/// request through a roll call that names a rank that stopped answering (<see cref="MpiCommunicator.RollCall"/>). Every
/// collective waits the communicator's <see cref="MpiCommunicator.Timeout"/>.
/// </summary>
/// <example>
/// <code>
/// using var world = MpiCommunicator.Initialize(MpiLaunch.FromEnvironment());
/// using var group = new MpiDataParallelGroup(world);
/// using var trainer = PixelCnnTraining.CreateTrainer(model, orders, train, test, options, group);
/// trainer.Train(1000);   // every rank: the same steps, the same weights
/// if (world.IsRoot) trainer.Save("model.ckpt");
/// </code>
/// </example>
public sealed class MpiDataParallelGroup : IDataParallelGroup, IDisposable
{
    private readonly GradientAllreduce reduction;

    /// <summary>Creates the group of a communicator's ranks (the communicator stays the caller's to dispose).</summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="bucketElements">Elements per allreduce of the gradients.</param>
    public MpiDataParallelGroup(MpiCommunicator communicator, int bucketElements = GradientAllreduce.DefaultBucketElements)
    {
        Communicator = communicator ?? throw new ArgumentNullException(nameof(communicator));
        reduction = new GradientAllreduce(communicator, bucketElements);
    }

    /// <summary>The ranks.</summary>
    public MpiCommunicator Communicator { get; }

    /// <inheritdoc />
    public int Size => Communicator.Size;

    /// <inheritdoc />
    public int Index => Communicator.Rank;

    /// <inheritdoc />
    public void SumGradients(IReadOnlyList<Tensor> parameters) => reduction.SumGradients(parameters);

    /// <inheritdoc />
    public void SumInPlace(IReadOnlyList<Tensor> tensors) => reduction.SumInPlace(tensors);

    /// <inheritdoc />
    public void SumInPlace(Span<double> values) => Communicator.AllreduceSum(values);

    /// <inheritdoc />
    /// <remarks>Each tensor crosses as its bytes, one broadcast per tensor (on a GPU, through a host copy).</remarks>
    public void BroadcastInPlace(IReadOnlyList<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i] ?? throw new ArgumentException($"Element {i} is null: expected a tensor.", nameof(tensors));
            var host = tensor.detach().cpu().contiguous();
            if (Communicator.IsRoot || Size == 1)
            {
                Communicator.Broadcast(host.bytes);
                continue;
            }

            // Received into a host copy (host may share the tensor's memory), then copied into the tensor on its device.
            var received = host.clone();
            Communicator.Broadcast(received.bytes);
            tensor.copy_(received);
        }
    }

    /// <inheritdoc />
    /// <remarks>A roll call: rank 0 names a rank that did not report within the communicator's timeout.</remarks>
    public bool AnyRequestsStop(bool stopRequested, long step) =>
        Communicator.RollCall(stopRequested ? 1 : 0, string.Create(CultureInfo.InvariantCulture, $"the end of step {step}")).Any(v => v != 0);

    /// <summary>Frees the gradient buckets.</summary>
    public void Dispose() => reduction.Dispose();
}
