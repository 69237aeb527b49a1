namespace LocallyMasked.Cli.Imaging;

/// <summary>
/// What a progress line says while images are generated in batches. The work is counted in generated pixels of all
/// images (a batch's images get a pixel each at every step), and the text counts the same thing: during a batch, which
/// images are being generated and at which of their pixels; after it, how many images are finished.
/// </summary>
public static class BatchProgress
{
    /// <summary>The pixels generated so far: all of the finished images', and <paramref name="step"/> of each image of the batch.</summary>
    /// <param name="before">Images finished before the batch.</param>
    /// <param name="batch">Images in the batch.</param>
    /// <param name="step">Pixels of each image of the batch generated so far.</param>
    /// <param name="pixels">Pixels generated per image.</param>
    public static long Done(int before, int batch, int step, long pixels) => before * pixels + (long)step * batch;

    /// <summary>"images 17-32 of 40: pixel 120/784": the batch's images and how far they are.</summary>
    /// <param name="before">Images finished before the batch.</param>
    /// <param name="batch">Images in the batch.</param>
    /// <param name="count">All images of the command.</param>
    /// <param name="step">Pixels of each image of the batch generated so far.</param>
    /// <param name="pixels">Pixels generated per image.</param>
    public static string During(int before, int batch, int count, int step, long pixels) =>
        $"images {before + 1}-{before + batch} of {count}: pixel {step}/{pixels}";

    /// <summary>"32/40 images": the images finished.</summary>
    /// <param name="done">Images finished.</param>
    /// <param name="count">All images of the command.</param>
    public static string After(int done, int count) => $"{done}/{count} images";
}
