using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The reference sampler: for every generated pixel it runs the whole network on the whole image and
/// reads the distribution at that pixel (H*W full passes per image set, as in the authors' code). It works with any
/// <see cref="IAutoregressiveImageModel"/>, through <see cref="IAutoregressiveImageModel.DistributionParameters"/>.
/// </summary>
public sealed class NaiveSampler : ImageSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="model">The model to sample from: a Locally Masked PixelCNN++ or the PixelCNN++ baseline.</param>
    public NaiveSampler(IAutoregressiveImageModel model) : base(model)
    {
    }

    private protected override Tensor Run(SamplingPlan plan, SamplingOptions options)
    {
        using var runScope = NewDisposeScope();
        var config = Model.Configuration;
        int n = plan.Orders.Count;
        long pixels = config.PixelCount;
        var images = plan.Start.clone();
        var flat = images.view(n, config.ImageChannels, pixels);
        IReadOnlyList<GenerationOrder> orders = plan.SharedOrder ? new[] { plan.Orders[0] } : plan.Orders;
        var device = images.device;

        for (int t = plan.FirstStep; t < plan.EndStep; t++)
        {
            if (!plan.AnySampledAt(t)) continue;
            using var scope = NewDisposeScope();
            var pixelIndex = plan.PixelIndex(t, device);
            var generated = plan.Generated(t, device);

            var all = Model.DistributionParameters(images, orders);
            var parameters = all.view(n, all.shape[1], pixels).gather(2, pixelIndex.expand(n, all.shape[1], 1)).squeeze(2);
            options.StepObserver?.Invoke(t, parameters);
            var values = Model.Likelihood.Sample(parameters, plan.Uniforms[t - plan.FirstStep], options.Temperature);
            WritePixels(flat, pixelIndex, values, generated);
        }
        return images.MoveToOuterDisposeScope();
    }
}
