namespace LocallyMasked.Training.Data;

/// <summary>
/// A data set could not be downloaded or put in place. The message is one line: the address or folder concerned, the
/// reason, where to get the files by hand and what the folder must hold. Nothing partial is left behind when it is
/// thrown (temporary files are deleted; files that were verified before the failure stay).
/// </summary>
public sealed class DatasetDownloadException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The one-line message.</param>
    /// <param name="url">The address that failed, if any.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public DatasetDownloadException(string message, Uri? url = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Url = url;
    }

    /// <summary>The address that failed, or null when the failure was local (for example an unwritable folder).</summary>
    public Uri? Url { get; }
}
