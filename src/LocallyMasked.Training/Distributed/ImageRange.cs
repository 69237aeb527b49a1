namespace LocallyMasked.Training.Distributed;

/// <summary>A contiguous run of images: indices <see cref="Start"/> to <see cref="End"/> - 1.</summary>
public sealed record ImageRange
{
    /// <summary>Images <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> - 1.</summary>
    /// <param name="start">The first image's index (at least 0).</param>
    /// <param name="count">How many images (at least 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative start or count.</exception>
    public ImageRange(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Start = start;
        Count = count;
    }

    /// <summary>The first image's index.</summary>
    public int Start { get; }

    /// <summary>How many images.</summary>
    public int Count { get; }

    /// <summary>One past the last image's index.</summary>
    public int End => Start + Count;

    /// <summary>Images 0 to <paramref name="count"/> - 1.</summary>
    /// <param name="count">How many images.</param>
    public static ImageRange All(int count) => new(0, count);

    /// <summary>This range, checked to lie within <paramref name="available"/> images.</summary>
    /// <param name="available">How many images there are.</param>
    /// <param name="name">The argument's name for the exception.</param>
    /// <exception cref="ArgumentOutOfRangeException">The range runs past <paramref name="available"/>.</exception>
    public ImageRange CheckedWithin(int available, string name)
    {
        if ((long)Start + Count > available)
            throw new ArgumentOutOfRangeException(name, this, $"Expected a range of images within 0..{available} (images {Start} to {(long)Start + Count - 1}).");
        return this;
    }

    /// <summary>"images 10-19" (or "no images").</summary>
    public override string ToString() => Count == 0 ? "no images" : Count == 1 ? $"image {Start}" : $"images {Start}-{End - 1}";
}
