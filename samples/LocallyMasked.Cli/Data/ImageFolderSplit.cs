using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>A folder's images as a data set, and the files that could not be used.</summary>
/// <param name="Images">The decoded images (labels all zero).</param>
/// <param name="Skipped">Files (relative paths) that were skipped, with the reason.</param>
public sealed record ImageFolderSplit(ImageDataset Images, IReadOnlyList<(string File, string Reason)> Skipped);
