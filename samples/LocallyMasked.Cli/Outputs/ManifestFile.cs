namespace LocallyMasked.Cli.Outputs;

/// <summary>A file a run wrote, as its manifest lists it.</summary>
/// <param name="Path">The file's name, relative to the manifest's folder (the --output folder).</param>
/// <param name="Kind">"sheet" (a grid of samples, or rows of context, completions and original) or "completion" (one completed picture).</param>
/// <param name="Images">For a sheet: how many images (samples, or completed images) it shows.</param>
/// <param name="First">For a sheet of test-image completions: the index of its first test image.</param>
/// <param name="Source">For a completion: the --image it completes, as given.</param>
/// <param name="Completion">For a completion: which of the image's --count completions, from 1.</param>
public sealed record ManifestFile(string Path, string Kind, int? Images = null, int? First = null, string? Source = null, int? Completion = null)
{
    /// <summary>The kind of a sheet.</summary>
    public const string Sheet = "sheet";

    /// <summary>The kind of one completed picture.</summary>
    public const string CompletedPicture = "completion";

    /// <summary>The entries of sheets of at most <paramref name="perSheet"/> images each, filled in turn by <paramref name="images"/> images.</summary>
    /// <param name="paths">The sheets' paths, in order.</param>
    /// <param name="images">The images in all of them.</param>
    /// <param name="perSheet">Images in a full sheet.</param>
    /// <param name="first">For test images: the index of the first sheet's first image; null otherwise.</param>
    public static IReadOnlyList<ManifestFile> Sheets(IReadOnlyList<string> paths, int images, int perSheet, int? first = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return paths.Select((path, i) => new ManifestFile(System.IO.Path.GetFileName(path), Sheet, Math.Min(perSheet, images - i * perSheet),
            first is { } start ? start + i * perSheet : null)).ToArray();
    }
}
