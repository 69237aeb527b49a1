namespace LocallyMasked.Training.Evaluation;

/// <summary>Test negative log-likelihoods of a model: under each order, and under their uniform mixture.</summary>
/// <param name="PerOrder">Mean negative log-likelihood (nats per image) under each order, in the order set's order.</param>
/// <param name="Ensemble">Mean negative log-likelihood (nats per image) of the uniform mixture of the orders.</param>
/// <param name="Images">How many images were evaluated.</param>
/// <param name="Dimensions">Dimensions per image (C * H * W), to convert to bits per dimension.</param>
public sealed record EvaluationReport(IReadOnlyList<double> PerOrder, double Ensemble, int Images, int Dimensions)
{
    /// <summary>
    /// Every image's figures, in image order (empty for a report made from means alone). The means are their sums in
    /// this order, in float64, divided by the count (<see cref="FromImages"/>): a report of the same images cut into
    /// parts and put together again has the same means, bit for bit.
    /// </summary>
    public IReadOnlyList<ImageNats> PerImage { get; init; } = Array.Empty<ImageNats>();

    /// <summary>Nats per image converted to bits per dimension.</summary>
    /// <param name="nats">Negative log-likelihood in nats per image.</param>
    public double BitsPerDimension(double nats) => nats / (Dimensions * Math.Log(2));

    /// <summary>
    /// The report of images' figures: each mean is the sum of the images' values in the list's order, in float64, divided
    /// by their count.
    /// </summary>
    /// <param name="images">The images' figures, in image order (at least one); each with one value per order.</param>
    /// <param name="dimensions">Dimensions per image (C * H * W).</param>
    /// <exception cref="ArgumentException">No images, or images with different numbers of orders.</exception>
    public static EvaluationReport FromImages(IReadOnlyList<ImageNats> images, int dimensions)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("Expected at least one image.", nameof(images));
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 1);
        int orders = images[0].PerOrder.Count;
        var totals = new double[orders];
        double ensemble = 0;
        foreach (var image in images)
        {
            if (image.PerOrder.Count != orders)
                throw new ArgumentException($"Image {image.Index} has {image.PerOrder.Count} orders' figures, the first image {orders}.", nameof(images));
            for (int o = 0; o < orders; o++) totals[o] += image.PerOrder[o];
            ensemble += image.Ensemble;
        }
        return new EvaluationReport(totals.Select(t => t / images.Count).ToArray(), ensemble / images.Count, images.Count, dimensions)
        {
            PerImage = images,
        };
    }
}
