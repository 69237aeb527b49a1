namespace LocallyMasked.Cli;

/// <summary>Shows how many pixels a sampler has generated.</summary>
/// <param name="total">Pixels to generate.</param>
public sealed class PixelProgress(int total) : IProgress<int>
{
    /// <summary>Prints the count on a terminal (nothing when the output is redirected).</summary>
    /// <param name="value">Pixels generated so far.</param>
    public void Report(int value)
    {
        if (!Console.IsOutputRedirected && (value % 16 == 0 || value == total)) Console.Write($"\rgenerating pixel {value}/{total}");
    }
}
