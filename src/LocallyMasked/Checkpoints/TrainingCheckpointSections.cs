namespace LocallyMasked.Checkpoints;

/// <summary>
/// What a training checkpoint holds besides tensors: its metadata, and the two sections only the trainer interprets,
/// carried here as opaque bytes (the model package reads and writes the file, the training package gives these meaning).
/// </summary>
/// <param name="Metadata">The metadata (step, settings, orders, model type and configuration).</param>
/// <param name="OptimizerState">The optimizer's state as the trainer saved it, or null when the file holds none (such a file
/// loads a model but cannot resume training).</param>
/// <param name="GeneratorState">The random-number generator state the trainer saved, restored on resume.</param>
public sealed record TrainingCheckpointSections(CheckpointMetadata Metadata, byte[]? OptimizerState, byte[] GeneratorState);
