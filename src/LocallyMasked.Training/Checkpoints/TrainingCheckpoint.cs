using System.Runtime.InteropServices;
using System.Text;
using LocallyMasked.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace LocallyMasked.Training.Checkpoints;

/// <summary>
/// What the trainer keeps in a training checkpoint beyond the model (<see cref="TrainingCheckpointFile"/> holds the
/// layout and reads the model part for the model package): Adam's state, torch's CPU generator state and the moving
/// average of the weights, written and restored so that a resumed run continues exactly. Loading is all or nothing:
/// an optimizer state that does not fit is found while applying, and then the weights, the average and the optimizer
/// are put back as they were.
/// </summary>
internal static class TrainingCheckpoint
{
    /// <summary>Writes a checkpoint to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The target file; an existing one is replaced only once the new one is complete.</param>
    /// <param name="metadata">The metadata.</param>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">The optimizer (Adam).</param>
    /// <param name="average">The moving average of the weights by parameter name, or null.</param>
    public static void Save(string path, CheckpointMetadata metadata, Module model, optim.Optimizer optimizer, IReadOnlyDictionary<string, Tensor>? average) =>
        TrainingCheckpointFile.Save(path, Sections(metadata, optimizer), model.state_dict(), average);

    /// <summary>Writes a checkpoint to a stream.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="metadata">The metadata.</param>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">The optimizer (Adam).</param>
    /// <param name="average">The moving average of the weights by parameter name, or null.</param>
    public static void Write(Stream stream, CheckpointMetadata metadata, Module model, optim.Optimizer optimizer, IReadOnlyDictionary<string, Tensor>? average) =>
        TrainingCheckpointFile.Write(stream, Sections(metadata, optimizer), model.state_dict(), average);

    /// <summary>
    /// Loads a checkpoint into an existing model (and optimizer and average, when given), in place, and restores torch's
    /// CPU random state when <paramref name="restoreRandomState"/> is set. A truncated, corrupt or mismatched file leaves
    /// the model, optimizer and average as they were.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">The optimizer to restore (the file must hold its state), or null to skip it.</param>
    /// <param name="average">The moving average to restore, or null to skip it.</param>
    /// <param name="restoreRandomState">Whether to restore torch's CPU generator (exact resumption of dropout).</param>
    /// <param name="accept">Called with the metadata before anything is changed; throws to refuse the file.</param>
    /// <exception cref="InvalidDataException">The file is not a complete checkpoint for these targets.</exception>
    public static CheckpointMetadata Load(string path, Module model, optim.Optimizer? optimizer, IReadOnlyDictionary<string, Tensor>? average,
        bool restoreRandomState = false, Action<CheckpointMetadata>? accept = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var helper = optimizer is null ? null : OptimizerState(optimizer);
        var sections = TrainingCheckpointFile.Load(path, model.state_dict(), average,
            accept: read =>
            {
                if (helper is not null && read.OptimizerState is null)
                    throw new InvalidDataException($"{path}: holds no optimizer state, so training cannot resume from it.");
                accept?.Invoke(read.Metadata);
            },
            apply: read =>
            {
                // What this changes is put back if anything fails (TrainingCheckpointFile puts back the tensors).
                var previous = helper is null ? null : SaveOptimizer(helper);
                try
                {
                    if (helper is not null) LoadOptimizer(helper, read.OptimizerState!, path);
                    if (restoreRandomState)
                    {
                        using var state = tensor(read.GeneratorState, ScalarType.Byte);
                        using var generator = torch.Generator.Default;
                        generator.set_state(state);
                    }
                }
                catch
                {
                    if (helper is not null) LoadOptimizerState(helper, previous!);
                    throw;
                }
            });
        return sections.Metadata;
    }

    private static TrainingCheckpointSections Sections(CheckpointMetadata metadata, optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(optimizer);
        using var generator = torch.Generator.Default;
        using var rng = generator.get_state();
        return new TrainingCheckpointSections(metadata, SaveOptimizer(OptimizerState(optimizer)), rng.data<byte>().ToArray());
    }

    private static byte[] SaveOptimizer(TorchSharp.Modules.OptimizerHelper optimizer)
    {
        var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true)) optimizer.save_state_dict(writer);
        return buffer.ToArray();
    }

    /// <summary>Loads an optimizer state, refusing one that does not fit the optimizer.</summary>
    private static void LoadOptimizer(TorchSharp.Modules.OptimizerHelper optimizer, byte[] state, string path)
    {
        try
        {
            LoadOptimizerState(optimizer, state);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException or ExternalException)
        {
            throw new InvalidDataException($"{path}: the optimizer state does not match the optimizer ({e.Message}).", e);
        }
    }

    private static void LoadOptimizerState(TorchSharp.Modules.OptimizerHelper optimizer, byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state), Encoding.UTF8);
        optimizer.load_state_dict(reader);
    }

    private static TorchSharp.Modules.OptimizerHelper OptimizerState(optim.Optimizer optimizer) =>
        optimizer as TorchSharp.Modules.OptimizerHelper
        ?? throw new ArgumentException($"Expected a TorchSharp managed optimizer such as Adam, got {optimizer.GetType().Name}.", nameof(optimizer));
}
