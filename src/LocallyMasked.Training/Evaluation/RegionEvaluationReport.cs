namespace LocallyMasked.Training.Evaluation;

/// <summary>
/// The test negative log-likelihood of a region of the images given what the model conditions it on
/// (<see cref="LikelihoodEvaluation.EvaluateRegion(Models.IAutoregressiveImageModel, Data.ImageDataset, InputEncoding, Orders.ImageRegion, IReadOnlyList{Orders.GenerationOrder}, int, int, IProgress{int}?)"/>).
/// </summary>
/// <param name="Nats">Mean negative log-likelihood of the region's values, in nats per image.</param>
/// <param name="Images">How many images were evaluated.</param>
/// <param name="Pixels">Pixels in the region.</param>
/// <param name="Dimensions">Values in the region (pixels x channels), to convert to bits per dimension.</param>
/// <param name="Orders">How many orders were mixed.</param>
/// <param name="RegionLast">True when the model generated the region after every other pixel (a model that takes any
/// order); false when it scored each region pixel given the pixels before it in raster order (a raster-only model).</param>
public sealed record RegionEvaluationReport(double Nats, int Images, int Pixels, int Dimensions, int Orders, bool RegionLast)
{
    /// <summary>The index of the first image evaluated; <see cref="PerImage"/>[i] is image FirstImage + i's.</summary>
    public int FirstImage { get; init; }

    /// <summary>
    /// Every image's negative log-likelihood of the region in nats, in image order (empty for a report made from the
    /// mean alone); <see cref="Nats"/> is their sum in this order, in float64, divided by the count.
    /// </summary>
    public IReadOnlyList<double> PerImage { get; init; } = Array.Empty<double>();

    /// <summary><see cref="Nats"/> in bits per region dimension.</summary>
    public double BitsPerDimension => Nats / (Dimensions * Math.Log(2));

    /// <summary>The report of images' region figures: the mean is their sum in order, in float64, divided by their count.</summary>
    /// <param name="firstImage">The index of the first image.</param>
    /// <param name="perImage">Each image's nats, in image order (at least one).</param>
    /// <param name="pixels">Pixels in the region.</param>
    /// <param name="dimensions">Values in the region.</param>
    /// <param name="orders">How many orders were mixed.</param>
    /// <param name="regionLast">Whether the region was generated last.</param>
    /// <exception cref="ArgumentException">No images.</exception>
    public static RegionEvaluationReport FromImages(int firstImage, IReadOnlyList<double> perImage, int pixels, int dimensions, int orders, bool regionLast)
    {
        ArgumentNullException.ThrowIfNull(perImage);
        if (perImage.Count == 0) throw new ArgumentException("Expected at least one image.", nameof(perImage));
        double total = 0;
        foreach (double nats in perImage) total += nats;
        return new RegionEvaluationReport(total / perImage.Count, perImage.Count, pixels, dimensions, orders, regionLast)
        {
            FirstImage = firstImage,
            PerImage = perImage,
        };
    }
}
