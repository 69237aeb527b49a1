using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Training;

/// <summary>
/// The quantity a trainer minimises: the negative log-likelihood in nats of each image of a batch.
/// </summary>
/// <param name="inputs">Model inputs (N, C, H, W) in [-1, 1].</param>
/// <param name="orders">Either one order per image (N of them) or a single order shared by the batch.</param>
/// <param name="dropout">The CPU generator the model's dropout draws from (the trainer seeds one per step and shard); null
/// outside training steps.</param>
/// <returns>A tensor of shape (N), differentiable with respect to the model's parameters.</returns>
public delegate Tensor NegativeLogLikelihood(Tensor inputs, IReadOnlyList<GenerationOrder> orders, Generator? dropout);
