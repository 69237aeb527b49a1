namespace LocallyMasked.Cli.Outputs;

/// <summary>The order a manifest's images were generated in.</summary>
/// <param name="Index">--order-index: which of the model's orders.</param>
/// <param name="Name">The --order name when typed; null for the model file's own orders.</param>
/// <param name="MissingLast">For completions: whether the missing pixels were moved to the order's end (false for a raster-only model); null for samples.</param>
public sealed record ManifestOrder(int Index, string? Name, bool? MissingLast = null);
