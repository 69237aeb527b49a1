namespace LocallyMasked.TestSupport;

/// <summary>Files of the repository, found from the test assembly's folder upwards (shared by the test projects).</summary>
internal static class RepositoryFiles
{
    /// <summary>The full path of a file or folder given relative to the repository's root.</summary>
    /// <param name="relative">For example "data/mnist-subset".</param>
    public static string Find(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, relative);
            if (Directory.Exists(candidate) || File.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"{relative} not found above {AppContext.BaseDirectory}.");
    }
}
