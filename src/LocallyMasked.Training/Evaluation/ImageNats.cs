namespace LocallyMasked.Training.Evaluation;

/// <summary>One image's negative log-likelihoods in nats: under each order and under their uniform ensemble.</summary>
/// <param name="Index">The image's index in its data set.</param>
/// <param name="PerOrder">Nats under each order, in the order set's order (the network's float values, widened to float64).</param>
/// <param name="Ensemble">Nats under the uniform mixture of the orders.</param>
public sealed record ImageNats(int Index, IReadOnlyList<double> PerOrder, double Ensemble);
