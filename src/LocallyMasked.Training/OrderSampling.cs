namespace LocallyMasked.Training;

/// <summary>How a training step picks orders from the order set.</summary>
public enum OrderSampling
{
    /// <summary>Every image of a batch gets its own order, drawn uniformly from the set (per-sample masks).</summary>
    PerImage,

    /// <summary>The whole batch shares one order, drawn uniformly from the set (shared masks, faster).</summary>
    PerBatch,
}
