using LocallyMasked.Convolution;
using LocallyMasked.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// Exact sampling in any order at the cost of about one network pass per image set. In a locally
/// masked network the activations of the t-th pixel of the order, at every layer, depend only on the
/// pixels before it; once those are fixed they are final. So each step evaluates every layer at the
/// next pixel only, from caches of each convolution's input at the earlier pixels.
/// </summary>
/// <remarks>
/// A cache holds a convolution's input only at the pixels already processed and zero elsewhere
/// (including the padding), so gathering a pixel's k x k neighbourhood from it applies the order's
/// mask by construction: the taps the mask hides are exactly the unprocessed pixels, and the first
/// layer's own pixel is written only after it is sampled. For completion, one full pass fills the caches
/// for the observed pixels that precede the region; observed pixels later in the order are processed
/// in turn without being sampled.
/// </remarks>
public sealed class CachedSampler : ImageSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="model">The model to sample from.</param>
    public CachedSampler(LocallyMaskedPixelCnn model) : base(model)
    {
    }

    private protected override Tensor Run(SamplingPlan plan, SamplingOptions options)
    {
        using var runScope = NewDisposeScope();
        var config = Model.Config;
        int n = plan.Orders.Count, k = config.KernelSize, pad = config.MaxDilation * (k / 2);
        int height = config.Height, width = config.Width, paddedWidth = width + 2 * pad;
        long paddedPixels = (long)(height + 2 * pad) * paddedWidth;
        var device = Model.Device;
        var dtype = Model.DType;

        var images = plan.Start.clone();
        var flatImages = images.view(n, config.ImageChannels, config.PixelCount);
        // Created here, outside the per-step scopes, for every convolution of the network.
        var caches = new Dictionary<LocallyMaskedConv2d, Tensor>(ReferenceEqualityComparer.Instance);
        var weights = new Dictionary<LocallyMaskedConv2d, (Tensor Weight, Tensor? Bias)>(ReferenceEqualityComparer.Instance);
        foreach (var conv in AllConvolutions())
        {
            caches.Add(conv, zeros(new long[] { n, conv.InChannels, paddedPixels }, dtype, device));
            // (C_in * k * k, C_out): a patch flattened as (channel, tap) times this is the convolution at one pixel.
            var matrix = conv.EffectiveWeight().reshape(conv.OutChannels, -1).t().contiguous();
            var bias = conv.named_parameters().Where(p => p.name == "bias").Select(p => p.parameter.detach()).FirstOrDefault();
            weights.Add(conv, (matrix, bias));
        }
        Tensor CacheOf(LocallyMaskedConv2d conv) => caches[conv];

        int first = plan.FirstStep;
        if (first > 0) FillFromFullPass(plan, images, CacheOf, pad, paddedWidth);

        // Padded positions of every image's pixel, and of its neighbourhood per dilation, for every step.
        var (positions, neighbourhoods) = StepIndices(plan, k, pad, paddedWidth, device);
        var ones1 = ones(n, 1, dtype: dtype, device: device);

        for (int t = first; t < plan.EndStep; t++)
        {
            using var scope = NewDisposeScope();
            int s = t - first;
            var position = positions[s];
            var pixelIndex = tensor(Enumerable.Range(0, n).Select(i => (long)plan.PixelAt(i, t)).ToArray(), new long[] { n, 1, 1 }, ScalarType.Int64, device);

            Tensor ConvolveAtPixel(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
            {
                var cache = CacheOf(conv);
                long channels = conv.InChannels;
                // The first layer must not see its own pixel (type A): its input is written after sampling.
                if (role != MaskRole.First) cache.scatter_(2, position.expand(n, channels, 1), input.unsqueeze(2));
                var neighbourhood = neighbourhoods[conv.Dilation][s];
                var patch = cache.gather(2, neighbourhood.expand(n, channels, neighbourhood.shape[2])).reshape(n, -1);
                var (weight, bias) = weights[conv];
                return bias is null ? patch.mm(weight) : addmm(bias, patch, weight, beta: 1, alpha: 1);
            }

            var current = flatImages.gather(2, pixelIndex.expand(n, config.ImageChannels, 1)).squeeze(2);
            var parameters = NetworkTraversal.Run(Model, cat(new[] { current, ones1 }, 1), ConvolveAtPixel);

            if (plan.AnySampledAt(t))
            {
                options.StepObserver?.Invoke(t, parameters);
                var generated = tensor(Enumerable.Range(0, n).Select(i => plan.Region[plan.PixelAt(i, t)]).ToArray(), new long[] { n }, ScalarType.Bool, device);
                var values = Model.Likelihood.Sample(parameters, plan.Uniforms[s], options.Temperature);
                WritePixels(flatImages, pixelIndex, values, generated);
            }

            // The pixel is final now: later pixels' first layer sees it.
            var final = flatImages.gather(2, pixelIndex.expand(n, config.ImageChannels, 1)).squeeze(2);
            CacheOf(Model.InitialConvolution).scatter_(2, position.expand(n, config.InputChannels, 1), cat(new[] { final, ones1 }, 1).unsqueeze(2));
        }
        return images.MoveToOuterDisposeScope();
    }

    // One full pass over the starting images records every convolution's input; then everything at or after
    // the first generated step is cleared, leaving exactly the activations of the observed prefix.
    private void FillFromFullPass(SamplingPlan plan, Tensor images, Func<LocallyMaskedConv2d, Tensor> cacheOf, int pad, int paddedWidth)
    {
        using var scope = NewDisposeScope();
        var config = Model.Config;
        int n = plan.Orders.Count;
        var masks = plan.SharedOrder ? Model.MasksFor(plan.Orders[0]) : Model.MasksFor(plan.Orders);
        var input = cat(new[] { images, ones(n, 1, config.Height, config.Width, dtype: images.dtype, device: images.device) }, 1);

        Tensor Record(LocallyMaskedConv2d conv, Tensor x, MaskRole role)
        {
            var cache = cacheOf(conv).view(n, conv.InChannels, config.Height + 2 * pad, paddedWidth);
            cache.narrow(2, pad, config.Height).narrow(3, pad, config.Width).copy_(x);
            var mask = role switch { MaskRole.First => masks.First, MaskRole.Dilated => masks.Dilated, _ => masks.Undilated };
            return conv.forward(x, mask);
        }

        NetworkTraversal.Run(Model, input, Record);

        var keep = new double[n * (config.Height + 2 * pad) * paddedWidth];
        long stride = (long)(config.Height + 2 * pad) * paddedWidth;
        for (int i = 0; i < n; i++)
        {
            for (int t = 0; t < plan.FirstStep; t++)
            {
                int p = plan.PixelAt(i, t);
                keep[i * stride + (p / config.Width + pad) * paddedWidth + p % config.Width + pad] = 1;
            }
        }
        var keepMask = tensor(keep, new long[] { n, 1, stride }, images.dtype, images.device);
        foreach (var conv in AllConvolutions()) cacheOf(conv).mul_(keepMask);
    }

    private IEnumerable<LocallyMaskedConv2d> AllConvolutions()
    {
        yield return Model.InitialConvolution;
        foreach (var stage in Model.UpStages.Select(s => s.Blocks).Concat(Model.DownStages.Select(s => s.Blocks)))
        {
            foreach (var block in stage)
            {
                yield return block.InputConvolution;
                yield return block.OutputConvolution;
            }
        }
        foreach (var conv in Model.DownsizeConvolutions.Concat(Model.UpsizeConvolutions)) yield return conv;
    }

    private (Tensor[] Positions, Dictionary<int, Tensor[]> Neighbourhoods) StepIndices(SamplingPlan plan, int k, int pad, int paddedWidth, Device device)
    {
        int n = plan.Orders.Count, width = Model.Config.Width, steps = plan.EndStep - plan.FirstStep;
        var positions = new Tensor[steps];
        var dilations = AllConvolutions().Select(c => c.Dilation).Distinct().ToArray();
        var neighbourhoods = dilations.ToDictionary(d => d, _ => new Tensor[steps]);
        for (int s = 0; s < steps; s++)
        {
            var position = new long[n];
            var around = dilations.ToDictionary(d => d, _ => new long[n * k * k]);
            for (int i = 0; i < n; i++)
            {
                int p = plan.PixelAt(i, plan.FirstStep + s), r = p / width + pad, c = p % width + pad;
                position[i] = (long)r * paddedWidth + c;
                foreach (int d in dilations)
                {
                    for (int tap = 0; tap < k * k; tap++)
                        around[d][i * k * k + tap] = (long)(r + (tap / k - k / 2) * d) * paddedWidth + c + (tap % k - k / 2) * d;
                }
            }
            positions[s] = tensor(position, new long[] { n, 1, 1 }, ScalarType.Int64, device);
            foreach (int d in dilations) neighbourhoods[d][s] = tensor(around[d], new long[] { n, 1, k * k }, ScalarType.Int64, device);
        }
        return (positions, neighbourhoods);
    }
}
