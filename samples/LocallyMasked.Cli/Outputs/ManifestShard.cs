namespace LocallyMasked.Cli.Outputs;

/// <summary>The part of a run a manifest's files hold (<c>sample --shard I/N</c>): part I of N, the whole run's images [First, First + Images).</summary>
/// <param name="Index">I, counted from 0.</param>
/// <param name="Count">N.</param>
/// <param name="First">The whole run's index of the part's first image.</param>
/// <param name="Images">The images of the part.</param>
public sealed record ManifestShard(int Index, int Count, int First, int Images);
