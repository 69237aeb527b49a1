using LocallyMasked.Checkpoints;
using LocallyMasked.Training.Checkpoints;

namespace LocallyMasked.Training;

// Saving and resuming: the trainer's whole state in a training checkpoint (TrainingCheckpoint), so that a resumed run
// continues exactly.
public sealed partial class Trainer
{
    /// <summary>Saves a checkpoint atomically (model, optimizer, average, step, settings, orders, random state).</summary>
    /// <param name="path">The checkpoint file; a previous one is replaced only when the new one is complete.</param>
    public void Save(string path) => TrainingCheckpoint.Save(path, Metadata(), model, optimizer, average?.Tensors);

    /// <summary>Writes a checkpoint to a stream (what <see cref="Save(string)"/> writes to its temporary file).</summary>
    /// <param name="stream">The destination.</param>
    public void Save(Stream stream) => TrainingCheckpoint.Write(stream, Metadata(), model, optimizer, average?.Tensors);

    /// <summary>
    /// Restores the state saved by <see cref="Save(string)"/> into this trainer (built with the same model shape and
    /// orders), so that training continues exactly where it stopped. In a group of several processes every process reads
    /// the checkpoint (at the same path, on a shared file system or a copy on each machine) and they check that they
    /// read the same state (a collective).
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    public void Resume(string path)
    {
        var metadata = TrainingCheckpoint.Load(path, model, optimizer, average?.Tensors, restoreRandomState: true, accept: stored =>
        {
            // Refused before anything is loaded.
            if (stored.OrderSequences.Count != Orders.Count || !stored.Orders().SequenceEqual(Orders))
                throw new InvalidDataException($"{path}: the checkpoint trains a different order set.");
            if (stored.TrainingImages != 0 && stored.TrainingImages != train.Count)
                throw new InvalidDataException(
                    $"{path}: the checkpoint was trained on {stored.TrainingImages} images and this trainer has {train.Count}; its batches, epochs and learning-rate schedule would not continue.");
        });
        Step = metadata.Step;
        recent.Clear();
        RequireSameState(path);
    }

    /// <summary>The metadata a checkpoint of the current state holds.</summary>
    public CheckpointMetadata Metadata() => new()
    {
        Step = Step,
        TrainingImages = train.Count,
        Options = Options.ToJson(),
        Height = train.Height,
        Width = train.Width,
        OrderSequences = Orders.Select(o => o.Sequence.ToArray()).ToArray(),
        ModelType = modelType,
        ModelConfiguration = ModelConfiguration,
    };
}
