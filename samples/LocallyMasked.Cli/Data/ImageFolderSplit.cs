using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>A folder's images as a data set, the files that could not be used, and the links not followed again.</summary>
/// <param name="Images">The decoded images (labels all zero).</param>
/// <param name="Skipped">Files of the split (relative paths) that could not be decoded, with the reason.</param>
/// <param name="RepeatedLinks">Links that led to an image or folder already read (<see cref="ImageFileWalk"/>): the same for both splits.</param>
/// <param name="Unreadable">Image files of the folder that cannot be opened (a name that is not UTF-8, a link to nothing), with the reason: the same for both splits.</param>
public sealed record ImageFolderSplit(ImageDataset Images, IReadOnlyList<(string File, string Reason)> Skipped, int RepeatedLinks,
    IReadOnlyList<(string File, string Reason)> Unreadable);
