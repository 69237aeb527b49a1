namespace LocallyMasked.Checkpoints;

/// <summary>
/// The limits within which <see cref="PixelCnnCheckpoint"/> reads a file, so that a hostile or damaged file is refused in
/// one line, quickly and without a memory bomb, instead of crashing, hanging or filling the memory. The defaults hold
/// every checkpoint of the paper's authors and of this library with a wide margin; a refusal names the limit, and a
/// <c>with</c> copy of <see cref="Default"/> raises it (docs/limits.md lists them all). Read through
/// <see cref="ModelLoadOptions.Limits"/>.
/// </summary>
public sealed record CheckpointLimits
{
    private readonly long _maxPickleBytes = 16L << 20;
    private readonly int _maxNestingDepth = 100;
    private readonly long _maxPickleValues = 1_000_000;
    private readonly long _maxInflatedStorageBytes = 1L << 30;
    private readonly long _maxImagePixels = 1L << 20;

    /// <summary>The defaults.</summary>
    public static CheckpointLimits Default { get; } = new();

    /// <summary>
    /// The most bytes of pickle (the object structure of a PyTorch file, without the tensors' data) read from one file:
    /// 16 MiB by default (a published checkpoint's is under 1 MiB). Between 1 KiB and 2 GiB.
    /// </summary>
    public long MaxPickleBytes
    {
        get => _maxPickleBytes;
        init => _maxPickleBytes = InRange(value, 1 << 10, int.MaxValue, nameof(MaxPickleBytes));
    }

    /// <summary>
    /// How deeply lists, tuples, dicts and objects may nest in a PyTorch file's pickle: 100 by default (a checkpoint nests
    /// 5 deep). Between 1 and 10,000.
    /// </summary>
    public int MaxNestingDepth
    {
        get => _maxNestingDepth;
        init => _maxNestingDepth = (int)InRange(value, 1, 10_000, nameof(MaxNestingDepth));
    }

    /// <summary>
    /// The most values a PyTorch file's pickle may push or remember (each tensor takes about 15): 1,000,000 by default.
    /// At least 1,000.
    /// </summary>
    public long MaxPickleValues
    {
        get => _maxPickleValues;
        init => _maxPickleValues = InRange(value, 1_000, long.MaxValue, nameof(MaxPickleValues));
    }

    /// <summary>
    /// How many more bytes the tensors read from a zip-format PyTorch file may take than the file itself: 1 GiB by
    /// default. torch.save stores tensors uncompressed, so only a file whose entries were compressed afterwards (or a zip
    /// bomb) needs any. At least 0.
    /// </summary>
    public long MaxInflatedStorageBytes
    {
        get => _maxInflatedStorageBytes;
        init => _maxInflatedStorageBytes = InRange(value, 0, long.MaxValue, nameof(MaxInflatedStorageBytes));
    }

    /// <summary>
    /// The most pixels (height x width) of the images a loaded model is built for, from whatever decides the size (a
    /// checkpoint's configuration, the authors' <c>args</c>, <see cref="ModelLoadOptions.ImageSize"/> or the template):
    /// 1,048,576 (1024 x 1024) by default; the published models are at most 256 x 256. Between 1 and 2^31 - 1.
    /// </summary>
    public long MaxImagePixels
    {
        get => _maxImagePixels;
        init => _maxImagePixels = InRange(value, 1, int.MaxValue, nameof(MaxImagePixels));
    }

    private static long InRange(long value, long min, long max, string name) =>
        value >= min && value <= max ? value
            : throw new ArgumentOutOfRangeException(name, $"CheckpointLimits.{name} must be between {min} and {max}, got {value}.");
}
