namespace LocallyMasked.Training.Evaluation;

/// <summary>
/// The test negative log-likelihood of a region of the images given what the model conditions it on
/// (<see cref="LikelihoodEvaluation.EvaluateRegion"/>).
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
    /// <summary><see cref="Nats"/> in bits per region dimension.</summary>
    public double BitsPerDimension => Nats / (Dimensions * Math.Log(2));
}
