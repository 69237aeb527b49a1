namespace LocallyMasked.Training.Data;

/// <summary>
/// A data set that can be downloaded: where from, which files with which checksums, and how the folder looks once
/// it is complete. The values of the real data sets are in <see cref="DatasetCatalog"/>; any other description (a
/// private mirror, a test fixture) works the same way.
/// </summary>
/// <param name="Name">The data set's name (for example "mnist").</param>
/// <param name="Mirrors">Base addresses tried in order for each file (the file's URL is the base address followed by its name).</param>
/// <param name="Files">The files to fetch.</param>
/// <param name="HomePage">Where a person can get the files by hand.</param>
/// <param name="Layout">What the folder holds when the data set is complete, in words (used in error messages).</param>
/// <param name="ChecksumSource">Where the checksums and sizes come from.</param>
public sealed record DatasetDescription(
    string Name,
    IReadOnlyList<Uri> Mirrors,
    IReadOnlyList<DatasetFile> Files,
    Uri HomePage,
    string Layout,
    string ChecksumSource)
{
    /// <summary>The same description with its mirrors replaced by one base address (a trailing '/' is added when missing).</summary>
    /// <param name="mirror">An absolute http or https address.</param>
    public DatasetDescription WithMirror(Uri mirror)
    {
        ArgumentNullException.ThrowIfNull(mirror);
        if (!mirror.IsAbsoluteUri || (mirror.Scheme != Uri.UriSchemeHttp && mirror.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"'{UrlRedaction.Redact(mirror)}': a mirror is an absolute http:// or https:// address.", nameof(mirror));
        var text = mirror.AbsoluteUri;
        return this with { Mirrors = new[] { new Uri(text.EndsWith('/') ? text : text + "/") } };
    }
}
