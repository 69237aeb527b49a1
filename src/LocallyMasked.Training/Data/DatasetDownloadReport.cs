namespace LocallyMasked.Training.Data;

/// <summary>What <see cref="DatasetDownloader.DownloadAsync"/> did.</summary>
/// <param name="Folder">The data set's folder (absolute).</param>
/// <param name="Downloaded">Files fetched and verified in this call.</param>
/// <param name="AlreadyPresent">Files that were already there and verified (not fetched), or archives whose unpacked files were all there.</param>
/// <param name="Unpacked">Files unpacked from archives in this call (paths relative to the folder).</param>
public sealed record DatasetDownloadReport(
    string Folder,
    IReadOnlyList<string> Downloaded,
    IReadOnlyList<string> AlreadyPresent,
    IReadOnlyList<string> Unpacked);
