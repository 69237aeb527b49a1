namespace LocallyMasked.Training.Evaluation;

/// <summary>
/// The images of an <see cref="EvaluationResult"/>. Two results are of the same data when every member but
/// <see cref="Source"/> agrees; <see cref="Sha256"/> identifies the images themselves.
/// </summary>
public sealed record EvaluatedData
{
    /// <summary>The data set's name ("binarized-mnist", "cifar10", "images").</summary>
    public required string Dataset { get; init; }

    /// <summary>Where the images were read from (a folder, or a description such as "embedded digits").</summary>
    public required string Source { get; init; }

    /// <summary>Which split ("test"), or "files" for images named one by one.</summary>
    public required string Split { get; init; }

    /// <summary>Images in the split (the evaluation may use the first ones only).</summary>
    public required int SplitImages { get; init; }

    /// <summary>Channels per image.</summary>
    public required int Channels { get; init; }

    /// <summary>Image height.</summary>
    public required int Height { get; init; }

    /// <summary>Image width.</summary>
    public required int Width { get; init; }

    /// <summary>The modelled bit depth of a value (1 for binarized data).</summary>
    public required int Bits { get; init; }

    /// <summary>
    /// The SHA-256 of the bytes of all images of the whole evaluation (every part of a sharded evaluation has the same),
    /// concatenated in image order, each as C x H x W bytes; lower-case hexadecimal.
    /// </summary>
    public required string Sha256 { get; init; }

    /// <summary>Values per image, C * H * W: bits per dimension are nats / (Dimensions * ln 2).</summary>
    public int Dimensions => Channels * Height * Width;

    /// <summary>Whether <paramref name="other"/> describes the same images (the source path aside).</summary>
    /// <param name="other">The other data.</param>
    public bool SameDataAs(EvaluatedData other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return this with { Source = other.Source } == other;
    }
}
