namespace LocallyMasked.Checkpoints;

/// <summary>The kinds of file a model can be loaded from, told apart by their first bytes.</summary>
public enum CheckpointFormat
{
    /// <summary>A training checkpoint of this library (written by the trainer): configuration, orders, weights, optimizer, average.</summary>
    Training,

    /// <summary>A PyTorch file written by <c>torch.save</c> (zip or legacy format), such as the authors' published checkpoints.</summary>
    PyTorch,

    /// <summary>Weights in TorchSharp's own format (<c>Module.save</c>, <see cref="PixelCnnCheckpoint.Save"/>).</summary>
    TorchSharp,
}
