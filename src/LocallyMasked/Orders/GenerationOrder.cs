using System.Collections.ObjectModel;

namespace LocallyMasked.Orders;

/// <summary>
/// An order in which the pixels of an <c>Height x Width</c> image are generated: an immutable
/// permutation of all pixel indices <c>row * Width + column</c>.
/// </summary>
/// <remarks>
/// Create orders with <see cref="GenerationOrders"/> or <see cref="FromSequence"/>; both
/// validate that the sequence visits every pixel exactly once.
/// </remarks>
public sealed class GenerationOrder : IEquatable<GenerationOrder>
{
    private readonly int[] _sequence;
    private readonly int[] _ranks;

    private GenerationOrder(int height, int width, int[] sequence, int[] ranks)
    {
        Height = height;
        Width = width;
        _sequence = sequence;
        _ranks = ranks;
        Sequence = new ReadOnlyCollection<int>(_sequence);
        Ranks = new ReadOnlyCollection<int>(_ranks);
    }

    /// <summary>The image height in pixels.</summary>
    public int Height { get; }

    /// <summary>The image width in pixels.</summary>
    public int Width { get; }

    /// <summary>The number of pixels, <c>Height * Width</c>.</summary>
    public int PixelCount => _sequence.Length;

    /// <summary>The pixel indices (<c>row * Width + column</c>) in generation order.</summary>
    public IReadOnlyList<int> Sequence { get; }

    /// <summary>For each pixel index, its position in <see cref="Sequence"/> (0 = generated first).</summary>
    public IReadOnlyList<int> Ranks { get; }

    /// <summary>
    /// Creates an order from a sequence of pixel indices.
    /// </summary>
    /// <param name="height">The image height; at least 1.</param>
    /// <param name="width">The image width; at least 1.</param>
    /// <param name="sequence">Every pixel index in <c>[0, height * width)</c> exactly once.</param>
    /// <exception cref="ArgumentException">The sequence is not a permutation of all pixels.</exception>
    public static GenerationOrder FromSequence(int height, int width, IEnumerable<int> sequence)
    {
        int count = OrderArguments.CheckImageSize(height, width);
        ArgumentNullException.ThrowIfNull(sequence);

        int[] seq = sequence.ToArray();
        if (seq.Length != count)
        {
            throw new ArgumentException(
                $"An order of a {height}x{width} image must list all {count} pixels exactly once; got {seq.Length} entries.",
                nameof(sequence));
        }

        var ranks = new int[count];
        Array.Fill(ranks, -1);
        for (int i = 0; i < seq.Length; i++)
        {
            int p = seq[i];
            if ((uint)p >= (uint)count)
            {
                throw new ArgumentException(
                    $"Entry {i} of the sequence is pixel {p}, outside [0, {count}) for a {height}x{width} image.",
                    nameof(sequence));
            }
            if (ranks[p] >= 0)
            {
                throw new ArgumentException(
                    $"Pixel {p} appears twice in the sequence (entries {ranks[p]} and {i}); an order must be a permutation.",
                    nameof(sequence));
            }
            ranks[p] = i;
        }
        return new GenerationOrder(height, width, seq, ranks);
    }

    /// <summary>Returns the position of <paramref name="pixel"/> in the order.</summary>
    /// <param name="pixel">A pixel index <c>row * Width + column</c>.</param>
    public int RankOf(int pixel)
    {
        if ((uint)pixel >= (uint)_ranks.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(pixel), pixel, $"Expected a pixel index in [0, {_ranks.Length}).");
        }
        return _ranks[pixel];
    }

    /// <summary>
    /// Applies a grid symmetry to the order: pixel (r, c) of each step is mapped as
    /// <paramref name="symmetry"/> describes. Transposing variants swap height and width.
    /// </summary>
    /// <param name="symmetry">The symmetry to apply.</param>
    public GenerationOrder Transform(OrderSymmetry symmetry)
    {
        if (!Enum.IsDefined(symmetry))
        {
            throw new ArgumentOutOfRangeException(nameof(symmetry), symmetry, "Expected one of the eight OrderSymmetry values.");
        }
        int code = (int)symmetry;
        bool transpose = code >= 4;
        bool reflectRows = (code & 1) != 0;
        bool reflectColumns = (code & 2) != 0;
        int newHeight = transpose ? Width : Height;
        int newWidth = transpose ? Height : Width;

        var seq = new int[_sequence.Length];
        for (int i = 0; i < seq.Length; i++)
        {
            int r = _sequence[i] / Width, c = _sequence[i] % Width;
            if (transpose) (r, c) = (c, r);
            if (reflectRows) r = newHeight - 1 - r;
            if (reflectColumns) c = newWidth - 1 - c;
            seq[i] = r * newWidth + c;
        }
        return FromSequence(newHeight, newWidth, seq);
    }

    /// <summary>
    /// The eight symmetric variants of this order, indexed by <see cref="OrderSymmetry"/>
    /// (0 = this order).
    /// </summary>
    public IReadOnlyList<GenerationOrder> Variants() =>
        Enumerable.Range(0, 8).Select(i => Transform((OrderSymmetry)i)).ToArray();

    /// <summary>
    /// Returns the order that generates <paramref name="pixels"/> last: all other pixels first,
    /// then the region, each group keeping its relative order. Used to complete a missing region
    /// given everything else.
    /// </summary>
    /// <param name="pixels">The pixel indices of the region; duplicates are ignored.</param>
    public GenerationOrder WithRegionLast(IEnumerable<int> pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        var inRegion = new bool[_sequence.Length];
        foreach (int p in pixels)
        {
            if ((uint)p >= (uint)inRegion.Length)
            {
                throw new ArgumentException(
                    $"Region pixel {p} is outside [0, {inRegion.Length}) for a {Height}x{Width} image.", nameof(pixels));
            }
            inRegion[p] = true;
        }
        var seq = _sequence.Where(p => !inRegion[p]).Concat(_sequence.Where(p => inRegion[p]));
        return FromSequence(Height, Width, seq);
    }

    /// <inheritdoc/>
    public bool Equals(GenerationOrder? other) =>
        other is not null && other.Height == Height && other.Width == Width && other._sequence.AsSpan().SequenceEqual(_sequence);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as GenerationOrder);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Height);
        hash.Add(Width);
        foreach (int p in _sequence) hash.Add(p);
        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"GenerationOrder {Height}x{Width} [{string.Join(", ", _sequence.Take(6))}{(_sequence.Length > 6 ? ", ..." : "")}]";
}
