using System.Runtime.InteropServices;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// Lists the image files under a folder so that each real file is read once, however links lead to it: the folder's own
/// tree is walked first without following links, then each link is followed once, to a file or folder not yet seen
/// (identified by its real path, links resolved), so that a link to the folder itself, a loop of links or a second name
/// for a file adds nothing and ends at once. Hidden entries (names starting with '.') are left out, as before. Names
/// that cannot be opened (not valid UTF-8, which .NET cannot pass back to the system) and links to nothing are listed
/// as skipped with the reason. The walk stops with an error past <see cref="MaxEntries"/> entries.
/// </summary>
public static class ImageFileWalk
{
    /// <summary>The most files and folders one walk looks at (a --data of "/" would otherwise walk the whole disk).</summary>
    public const int MaxEntries = 1_000_000;

    /// <summary>
    /// The image files under <paramref name="folder"/> (relative paths, '/'-separated, in ordinal order), what was
    /// skipped, and how many links led to files or folders already listed.
    /// </summary>
    /// <param name="folder">The folder (its own path may contain links).</param>
    /// <param name="isImage">Whether a file name is an image's (by its extension).</param>
    /// <param name="firstOnly">Stop at the first image found.</param>
    /// <exception cref="InvalidDataException">More than <see cref="MaxEntries"/> entries.</exception>
    public static ImageFileListing List(string folder, Func<string, bool> isImage, bool firstOnly = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(isImage);
        var walk = new Walk(folder, isImage, firstOnly);
        walk.Run();
        return new ImageFileListing(walk.Files.Order(StringComparer.Ordinal).ToArray(), walk.Skipped, walk.RepeatedLinks);
    }

    /// <summary>The real path of <paramref name="path"/> (every link resolved), or null when it does not lead to anything.</summary>
    /// <param name="path">A path.</param>
    public static string? RealPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows())
        {
            string full = Path.GetFullPath(path);
            var info = new FileInfo(full);
            var target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true);
            return target is not null && (File.Exists(target.FullName) || Directory.Exists(target.FullName)) ? Path.GetFullPath(target.FullName) : null;
        }
        IntPtr resolved = ResolvePath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Marshal.FreeHGlobal(resolved);   // free(3): realpath allocated it with malloc
        }
    }

    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
    private static extern IntPtr ResolvePath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    private sealed class Walk(string folder, Func<string, bool> isImage, bool firstOnly)
    {
        private readonly HashSet<string> folders = new(StringComparer.Ordinal), files = new(StringComparer.Ordinal);
        private readonly Queue<(string Path, string Relative, string Real)> pending = new();
        private readonly Queue<(FileSystemInfo Link, string Relative)> links = new();
        private int entries;

        public List<string> Files { get; } = new();

        public List<(string File, string Reason)> Skipped { get; } = new();

        public int RepeatedLinks { get; private set; }

        public void Run()
        {
            string real = RealPath(folder) ?? throw new DirectoryNotFoundException($"{folder}: folder not found.");
            folders.Add(real);
            pending.Enqueue((folder, "", real));
            while (!Done)
            {
                // The real tree first, then the links found on the way, each once; a folder reached through a link is
                // walked in turn, its own links joining the queue.
                if (pending.TryDequeue(out var next)) Visit(next.Path, next.Relative, next.Real);
                else if (links.TryDequeue(out var link)) Follow(link.Link, link.Relative);
                else break;
            }
        }

        private bool Done => firstOnly && Files.Count > 0;

        private void Visit(string path, string relative, string real)
        {
            IEnumerable<FileSystemInfo> children;
            try
            {
                children = new DirectoryInfo(path).EnumerateFileSystemInfos("*", new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0 })
                    .OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A folder that vanished or cannot be listed (a name that is not UTF-8): nothing under it is read.
                Skipped.Add((relative.Length == 0 ? "." : relative + "/", Unopenable(relative) ?? "cannot be listed"));
                return;
            }
            foreach (var child in children)
            {
                if (++entries > MaxEntries)
                    throw new InvalidDataException($"{folder}: more than {MaxEntries:N0} files and folders under it; name the folder that holds the images.");
                if (child.Name.StartsWith('.')) continue;
                string childRelative = relative.Length == 0 ? child.Name : $"{relative}/{child.Name}";
                string childReal = $"{real.TrimEnd('/')}/{child.Name}";
                if (child.LinkTarget is not null) links.Enqueue((child, childRelative));
                else if (child is not DirectoryInfo) Add(childRelative, childReal);
                // A folder already walked is reached again only under a folder that a link led to (an ancestor of --data).
                else if (folders.Add(childReal)) pending.Enqueue((child.FullName, childRelative, childReal));
                if (Done) return;
            }
        }

        private void Follow(FileSystemInfo link, string relative)
        {
            string? real = RealPath(link.FullName);
            if (real is null)
            {
                if (isImage(link.Name)) Skipped.Add((relative, Unopenable(relative) ?? "a link to nothing (the file was moved or deleted)"));
                return;
            }
            // Links are followed once the folders queued before them are walked, so every folder of the trees seen so far
            // is known by its real path here.
            if (Directory.Exists(real))
            {
                if (folders.Add(real)) pending.Enqueue((link.FullName, relative, real));
                else RepeatedLinks++;
            }
            else if (isImage(link.Name) && !Add(relative, real)) RepeatedLinks++;
        }

        /// <summary>Lists an image file once (false when its real path was listed before).</summary>
        private bool Add(string relative, string real)
        {
            if (!isImage(relative)) return true;
            if (Unopenable(relative) is { } reason)
            {
                Skipped.Add((relative, reason));
                return true;
            }
            if (!files.Add(real)) return false;
            Files.Add(relative);
            return true;
        }

        /// <summary>Why a name cannot be opened: .NET decodes a name that is not UTF-8 with U+FFFD and cannot open it again.</summary>
        private static string? Unopenable(string relative) =>
            relative.Contains('\uFFFD') ? "its name is not valid UTF-8, which this program cannot open; rename it" : null;
    }
}
