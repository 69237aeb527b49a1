namespace LocallyMasked.Training.Data;

/// <summary>
/// Addresses as messages and progress lines show them: the credentials of an address (<c>https://user:password@host/</c>)
/// are replaced by <c>***</c>, wherever they would appear, so that an error line or a log never shows a password.
/// </summary>
public static class UrlRedaction
{
    /// <summary>What stands in for the credentials.</summary>
    public const string Mask = "***";

    /// <summary>The address without its credentials (<c>https://***@host/path</c>); unchanged when it has none.</summary>
    /// <param name="url">Any address.</param>
    public static string Redact(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || url.UserInfo.Length == 0) return url.ToString();
        return new UriBuilder(url) { UserName = Mask, Password = string.Empty }.Uri.AbsoluteUri;
    }

    /// <summary>A text (such as an exception's message) with the credentials of <paramref name="url"/> replaced wherever they occur.</summary>
    /// <param name="text">The text.</param>
    /// <param name="url">The address whose credentials must not show.</param>
    public static string Redact(string text, Uri url)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || url.UserInfo.Length == 0) return text;
        string result = text.Replace(url.AbsoluteUri, Redact(url), StringComparison.Ordinal)
            .Replace(url.OriginalString, Redact(url), StringComparison.Ordinal);
        foreach (var secret in new[] { url.UserInfo, Uri.UnescapeDataString(url.UserInfo) }.Distinct())
            result = result.Replace(secret + "@", Mask + "@", StringComparison.Ordinal);
        return result;
    }
}
