namespace LocallyMasked.Training.Tests.Data;

internal static class ReadOnlyFolder
{
    /// <summary>
    /// A folder this process cannot write to: a fresh folder under <paramref name="root"/> made read-only, or, when the
    /// tests run as root (who may write there anyway), /sys/kernel (sysfs refuses new files to everyone).
    /// </summary>
    public static string Create(string root)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the read-only folder is made with Unix permissions");
        string folder = Path.Combine(root, "read-only");
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            File.WriteAllBytes(Path.Combine(folder, "probe"), Array.Empty<byte>());
        }
        catch (UnauthorizedAccessException)
        {
            return folder;
        }
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Delete(Path.Combine(folder, "probe"));
        return Directory.Exists("/sys/kernel") ? "/sys/kernel" : throw new InvalidOperationException("no read-only folder available");
    }
}
