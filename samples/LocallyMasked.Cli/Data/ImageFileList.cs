using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// Images named one by one or found in folders (searched recursively, in path order), read at a model's size and
/// channels for <c>score</c>: an image of another size is cropped centrally to the model's aspect ratio and resized, a
/// colour image for a grey model becomes grey (BT.601 luma), a grey image for an RGB model has its value in each
/// channel; <see cref="Result.Changes"/> says how many of each in one line.
/// </summary>
public static class ImageFileList
{
    /// <summary>The images read.</summary>
    /// <param name="Images">The images, in the order of <paramref name="Files"/>.</param>
    /// <param name="Files">Each image's file, as named (a folder's files as folder/relative path).</param>
    /// <param name="Changes">One line saying which images were resized or converted, or null when none was.</param>
    /// <param name="Skipped">Files of the folders that are not usable images, with the reason.</param>
    public sealed record Result(ImageDataset Images, IReadOnlyList<string> Files, string? Changes, IReadOnlyList<(string File, string Reason)> Skipped);

    /// <summary>Reads the files and the folders' image files at the given size and channels.</summary>
    /// <param name="inputs">Files and folders (the --data values).</param>
    /// <param name="channels">The model's channels (1 or 3).</param>
    /// <param name="height">The model's height.</param>
    /// <param name="width">The model's width.</param>
    /// <param name="maxPixels">The most pixels a file may claim in its header (checked before it is decoded).</param>
    /// <exception cref="InputError">A path that does not exist, a named file that is not a usable image, or no image at all.</exception>
    /// <exception cref="ImageTooLargeException">A file over <paramref name="maxPixels"/>.</exception>
    public static Result Read(IReadOnlyList<string> inputs, int channels, int height, int width, long maxPixels = ImageFolderOptions.DefaultMaxImagePixels)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var files = new List<(string Path, bool Named)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var unreadable = new List<(string File, string Reason)>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                // Each real file once, however links lead to it (ImageFileWalk: loops end at once).
                ImageFileListing listing;
                try
                {
                    listing = ImageFileWalk.List(input, p => ImageFolderReader.Extensions.Contains(Path.GetExtension(p).ToLowerInvariant()));
                }
                catch (InvalidDataException e)
                {
                    throw new InputError($"--data {e.Message}", e);
                }
                var found = listing.Files.Select(f => Path.Combine(input, f)).ToArray();
                unreadable.AddRange(listing.Skipped.Select(s => (Path.Combine(input, s.File), s.Reason)));
                if (found.Length == 0)
                    throw new InputError($"--data {input}: no image files (looked for {string.Join(", ", ImageFolderReader.Extensions)} in it and its subfolders).");
                foreach (var path in found)
                    if (seen.Add(ImageFileWalk.RealPath(path) ?? Path.GetFullPath(path))) files.Add((path, false));
            }
            else if (File.Exists(input))
            {
                if (seen.Add(ImageFileWalk.RealPath(input) ?? Path.GetFullPath(input))) files.Add((input, true));
            }
            else throw new InputError($"--data {input}: no such file or folder.");
        }

        var decoded = new (byte[] Planes, int Height, int Width, bool Grey)?[files.Count];
        var reasons = new string?[files.Count];
        var budget = new DecodeBudget();
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            try
            {
                decoded[i] = ImageFolderReader.ReadFitted(files[i].Path, channels, height, width, maxPixels, budget);
            }
            catch (InvalidDataException e)
            {
                reasons[i] = e.Message;
            }
        });
        int named = Enumerable.Range(0, files.Count).FirstOrDefault(i => files[i].Named && reasons[i] is not null, -1);
        if (named >= 0) throw new InputError($"--data {files[named].Path}: {reasons[named]}; name PNG, JPEG or BMP images.");
        var kept = Enumerable.Range(0, files.Count).Where(i => decoded[i] is not null).ToArray();
        var skipped = Enumerable.Range(0, files.Count).Where(i => reasons[i] is not null).Select(i => (files[i].Path, reasons[i]!)).Concat(unreadable).ToArray();
        if (kept.Length == 0) throw new InputError($"--data {string.Join(" ", inputs)}: no usable image ({ImageFolderReader.Describe(skipped)}).");

        int resized = kept.Count(i => decoded[i]!.Value.Height != height || decoded[i]!.Value.Width != width);
        int converted = kept.Count(i => decoded[i]!.Value.Grey != (channels == 1));
        var changes = new List<string>();
        if (resized > 0)
            changes.Add($"{resized} of {kept.Length} images {(resized == 1 ? "is" : "are")} not {height}x{width} (HxW): cropped centrally to the model's aspect ratio and resized to it");
        if (converted > 0)
            changes.Add(channels == 1
                ? $"{converted} colour image{(converted == 1 ? "" : "s")} converted to grey (BT.601 luma) for the model's 1 channel"
                : $"{converted} grey image{(converted == 1 ? "" : "s")} given to the model's 3 channels (the grey value in each)");
        var images = ImageDataset.FromImages(kept.Select(i => decoded[i]!.Value.Planes).ToArray(), channels, height, width,
            name: $"{kept.Length} image files");
        return new Result(images, kept.Select(i => files[i].Path).ToArray(), changes.Count == 0 ? null : string.Join("; ", changes), skipped);
    }
}
