namespace LocallyMasked.Cli.Data;

/// <summary>The image files under a folder, each real file once (<see cref="ImageFileWalk"/>).</summary>
/// <param name="Files">Relative paths, '/'-separated, in ordinal order.</param>
/// <param name="Skipped">Image files that cannot be read, with the reason.</param>
/// <param name="RepeatedLinks">Links that led to a file or folder already listed (not read again).</param>
public sealed record ImageFileListing(IReadOnlyList<string> Files, IReadOnlyList<(string File, string Reason)> Skipped, int RepeatedLinks);
