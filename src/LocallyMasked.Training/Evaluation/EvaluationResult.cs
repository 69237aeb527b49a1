using System.Security.Cryptography;
using LocallyMasked.Orders;

namespace LocallyMasked.Training.Evaluation;

/// <summary>
/// An evaluation's figures as programs read them: the model and the data, the mean test negative log-likelihood under
/// each order, their ensemble and a region, in nats per image and bits per dimension, and every image's figures. It is
/// what <c>lmconv evaluate --json</c> writes and <c>lmconv merge</c> reads and writes, in the schema of
/// docs/evaluation-results.md (<see cref="ToJson"/>, <see cref="FromJson"/>); a part of a sharded evaluation carries
/// its <see cref="Shard"/>, and <see cref="Merge"/> puts parts together into the whole evaluation, bit for bit.
/// </summary>
public sealed partial record EvaluationResult
{
    /// <summary>The schema version this package writes (and the newest it reads).</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>The schema's version: readers refuse a newer one. Members are only ever added, never renamed.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>What wrote the result ("lmconv 0.1.0"), or null.</summary>
    public string? Program { get; init; }

    /// <summary>The model.</summary>
    public required EvaluatedModel Model { get; init; }

    /// <summary>The images.</summary>
    public required EvaluatedData Data { get; init; }

    /// <summary>The seed of the run (it chooses the test split of a folder of images).</summary>
    public required ulong Seed { get; init; }

    /// <summary>Image x order pairs per network pass: the batches the images were evaluated in (parts are cut at their boundaries).</summary>
    public required int BatchSize { get; init; }

    /// <summary>How many images the figures are over (a part's own images, for a part).</summary>
    public required int Images { get; init; }

    /// <summary>Which part of a sharded evaluation this is; null for a whole evaluation.</summary>
    public ResultShard? Shard { get; init; }

    /// <summary>The mean under each order, in the evaluated order set's order.</summary>
    public required IReadOnlyList<OrderResult> Orders { get; init; }

    /// <summary>The mean under the uniform mixture of the orders.</summary>
    public required EnsembleResult Ensemble { get; init; }

    /// <summary>The mean of a region given what the model conditions it on, or null.</summary>
    public RegionResult? Region { get; init; }

    /// <summary>Every image's figures, in image order.</summary>
    public required IReadOnlyList<ImageResult> PerImage { get; init; }

    /// <summary>
    /// The result of an evaluation: its figures (and a region's, evaluated on the same images) with what describes them.
    /// </summary>
    /// <param name="report">The figures, with every image's (<see cref="LikelihoodEvaluation"/>'s reports have them).</param>
    /// <param name="orders">The evaluated orders.</param>
    /// <param name="orderNames">Their names as the table shows them.</param>
    /// <param name="model">The model.</param>
    /// <param name="data">The images.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="batchSize">Image x order pairs per network pass.</param>
    /// <param name="region">The region's figures on the same images, or null.</param>
    /// <param name="regionName">The region as given (required with <paramref name="region"/>).</param>
    /// <param name="shard">The part of a sharded evaluation, or null for the whole.</param>
    /// <param name="files">Each image's file (for images named one by one), or null.</param>
    /// <param name="program">What writes the result, or null.</param>
    /// <exception cref="ArgumentException">The report has no per-image figures, the names or files do not match the
    /// orders or images, or the region covers other images.</exception>
    public static EvaluationResult Create(EvaluationReport report, IReadOnlyList<GenerationOrder> orders, IReadOnlyList<string> orderNames,
        EvaluatedModel model, EvaluatedData data, ulong seed, int batchSize, RegionEvaluationReport? region = null, string? regionName = null,
        ResultShard? shard = null, IReadOnlyList<string>? files = null, string? program = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(orderNames);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (report.PerImage.Count != report.Images || report.Images == 0)
            throw new ArgumentException("Expected a report with every image's figures (LikelihoodEvaluation's reports have them).", nameof(report));
        if (orders.Count != report.PerOrder.Count || orderNames.Count != orders.Count)
            throw new ArgumentException($"Expected {report.PerOrder.Count} orders and names, got {orders.Count} and {orderNames.Count}.", nameof(orders));
        if (data.Dimensions != report.Dimensions)
            throw new ArgumentException($"The data has {data.Dimensions} dimensions per image, the report {report.Dimensions}.", nameof(data));
        if (files is not null && files.Count != report.Images)
            throw new ArgumentException($"Expected a file per image ({report.Images}), got {files.Count}.", nameof(files));
        int first = report.PerImage[0].Index;
        if (region is not null && (region.FirstImage != first || region.PerImage.Count != report.Images))
            throw new ArgumentException("The region was evaluated on other images than the report.", nameof(region));
        if (region is not null && string.IsNullOrEmpty(regionName))
            throw new ArgumentException("Expected the region's name with its figures.", nameof(regionName));
        var perImage = report.PerImage.Select((image, i) => new ImageResult
        {
            Index = image.Index,
            File = files?[i],
            Nats = image.PerOrder,
            Ensemble = image.Ensemble,
            Region = region?.PerImage[i],
        }).ToArray();
        return Summarize(new EvaluationResult
        {
            Program = program,
            Model = model,
            Data = data,
            Seed = seed,
            BatchSize = batchSize,
            Images = report.Images,
            Shard = shard,
            Orders = orders.Select((order, i) => new OrderResult { Index = i, Name = orderNames[i], Sha256 = SequenceSha256(order), Nats = 0, Bpd = 0 }).ToArray(),
            Ensemble = new EnsembleResult { Orders = orders.Count, Nats = 0, Bpd = 0 },
            Region = region is null ? null : new RegionResult
            {
                Name = regionName!, Pixels = region.Pixels, Dimensions = region.Dimensions, Orders = region.Orders, RegionLast = region.RegionLast, Nats = 0, Bpd = 0,
            },
            PerImage = perImage,
        });
    }

    /// <summary>The figures as the evaluation package reports them (with every image's).</summary>
    public EvaluationReport ToReport() =>
        EvaluationReport.FromImages(PerImage.Select(image => new ImageNats(image.Index, image.Nats, image.Ensemble)).ToArray(), Data.Dimensions);

    /// <summary>The region's figures as the evaluation package reports them, or null without a region.</summary>
    public RegionEvaluationReport? ToRegionReport() => Region is null
        ? null
        : RegionEvaluationReport.FromImages(PerImage[0].Index, PerImage.Select(image => image.Region ?? double.NaN).ToArray(), Region.Pixels,
            Region.Dimensions, Region.Orders, Region.RegionLast);

    /// <summary>The SHA-256 of an order's pixel sequence, each index a little-endian 32-bit integer, in lower-case hexadecimal.</summary>
    /// <param name="order">The order.</param>
    public static string SequenceSha256(GenerationOrder order)
    {
        ArgumentNullException.ThrowIfNull(order);
        var bytes = new byte[order.PixelCount * 4];
        for (int i = 0; i < order.PixelCount; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), order.Sequence[i]);
        return Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
    }

    /// <summary>The means of <paramref name="result"/> recomputed from its images: sums in image order, in float64, over the count.</summary>
    private static EvaluationResult Summarize(EvaluationResult result)
    {
        var report = result.ToReport();
        double Bpd(double nats) => report.BitsPerDimension(nats);
        var region = result.ToRegionReport();
        return result with
        {
            Images = report.Images,
            Orders = result.Orders.Select((order, i) => order with { Nats = report.PerOrder[i], Bpd = Bpd(report.PerOrder[i]) }).ToArray(),
            Ensemble = result.Ensemble with { Nats = report.Ensemble, Bpd = Bpd(report.Ensemble) },
            Region = result.Region is null ? null : result.Region with { Nats = region!.Nats, Bpd = region.BitsPerDimension },
        };
    }
}
