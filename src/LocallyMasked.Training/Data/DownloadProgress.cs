namespace LocallyMasked.Training.Data;

/// <summary>How far the download of one file has come.</summary>
/// <param name="File">The file's name.</param>
/// <param name="BytesDone">Bytes received so far.</param>
/// <param name="TotalBytes">The file's size when known (from the description or the server), else null.</param>
/// <param name="BytesPerSecond">The mean rate since the transfer began.</param>
/// <param name="TimeLeft">The estimated time left at that rate, when the size is known and the rate positive.</param>
/// <param name="Completed">True on the last report of a transfer (all bytes received).</param>
public readonly record struct DownloadProgress(
    string File,
    long BytesDone,
    long? TotalBytes,
    double BytesPerSecond,
    TimeSpan? TimeLeft,
    bool Completed);
