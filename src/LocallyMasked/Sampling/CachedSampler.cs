using LocallyMasked.Convolution;
using LocallyMasked.Layers;
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
        // baseline-integration: the base class holds any IAutoregressiveImageModel; this sampler keeps the typed model.
        Model = model;
    }

    /// <summary>The model that is sampled.</summary>
    public new LocallyMaskedPixelCnn Model { get; }

    private protected override Tensor Run(SamplingPlan plan, SamplingOptions options)
    {
        using var runScope = NewDisposeScope();
        var config = Model.Config;
        int n = plan.Orders.Count, k = config.KernelSize, pad = config.MaxDilation * (k / 2);
        int paddedWidth = config.Width + 2 * pad;
        long paddedPixels = (long)(config.Height + 2 * pad) * paddedWidth;
        var device = Model.Device;
        var dtype = Model.DType;

        var images = plan.Start.clone();
        var flatImages = images.view(n, config.ImageChannels, config.PixelCount);
        // Created here, outside the per-step scopes, for every convolution of the network.
        var caches = new Dictionary<LocallyMaskedConv2d, Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var conv in AllConvolutions()) caches.Add(conv, zeros(new long[] { n, conv.InChannels, paddedPixels }, dtype, device));

        int first = plan.FirstStep;
        if (first > 0) FillFromFullPass(plan, images, caches, pad, paddedWidth);

        var (positions, neighbourhoods) = StepIndices(plan, k, pad, paddedWidth, device);
        bool readsMasks = config.Normalization == FeatureNormalization.OrderRescale || config.LearnWeightForMasks;
        var masks = !readsMasks ? null : plan.SharedOrder ? Model.MasksFor(plan.Orders[0]) : Model.MasksFor(plan.Orders);
        var layers = new PixelLayers(caches, AllLinears(), positions, neighbourhoods, n, masks);
        var ones1 = ones(n, 1, dtype: dtype, device: device);
        var firstLayerCache = caches[Model.InitialConvolution];

        int previousThreads = torch.get_num_threads();
        bool limitThreads = device.type == DeviceType.CPU && options.CpuThreads is int threads && threads != previousThreads;
        if (limitThreads) torch.set_num_threads(options.CpuThreads!.Value);
        try
        {
            Steps(plan, options, layers, flatImages, firstLayerCache, ones1);
        }
        finally
        {
            if (limitThreads) torch.set_num_threads(previousThreads);
        }
        return images.MoveToOuterDisposeScope();
    }

    private void Steps(SamplingPlan plan, SamplingOptions options, PixelLayers layers, Tensor flatImages, Tensor firstLayerCache, Tensor ones1)
    {
        var config = Model.Config;
        int n = plan.Orders.Count, first = plan.FirstStep;
        var device = flatImages.device;
        for (int t = first; t < plan.EndStep; t++)
        {
            using var scope = NewDisposeScope();
            int s = t - first;
            var pixelIndex = plan.PixelIndex(t, device);
            layers.SetStep(s, pixelIndex);
            var gatherIndex = pixelIndex.expand(n, config.ImageChannels, 1);

            var current = flatImages.gather(2, gatherIndex).squeeze(2);
            var parameters = Model.Evaluate(cat(new[] { current, ones1 }, 1), layers);

            if (plan.AnySampledAt(t))
            {
                options.StepObserver?.Invoke(t, parameters);
                var generated = plan.Generated(t, device);
                var values = Model.Likelihood.Sample(parameters, plan.Uniforms[s], options.Temperature);
                WritePixels(flatImages, pixelIndex, values, generated);
            }

            // The pixel is final now: later pixels' first layer sees it.
            var final = flatImages.gather(2, gatherIndex).squeeze(2);
            layers.Write(firstLayerCache, cat(new[] { final, ones1 }, 1));
        }
    }

    // One full pass over the starting images records every convolution's input; then everything at or after
    // the first generated step is cleared, leaving exactly the activations of the observed prefix.
    private void FillFromFullPass(SamplingPlan plan, Tensor images, IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> caches, int pad, int paddedWidth)
    {
        using var scope = NewDisposeScope();
        var config = Model.Config;
        int n = plan.Orders.Count;
        var masks = plan.SharedOrder ? Model.MasksFor(plan.Orders[0]) : Model.MasksFor(plan.Orders);
        var input = cat(new[] { images, ones(n, 1, config.Height, config.Width, dtype: images.dtype, device: images.device) }, 1);
        Model.Evaluate(input, new RecordingLayers(masks, caches, pad));

        long stride = (long)(config.Height + 2 * pad) * paddedWidth;
        var keep = new double[n * stride];
        for (int i = 0; i < n; i++)
        {
            for (int t = 0; t < plan.FirstStep; t++)
            {
                int p = plan.PixelAt(i, t);
                keep[i * stride + (p / config.Width + pad) * paddedWidth + p % config.Width + pad] = 1;
            }
        }
        var keepMask = tensor(keep, new long[] { n, 1, stride }, images.dtype, images.device);
        foreach (var cache in caches.Values) cache.mul_(keepMask);
    }

    private IEnumerable<NetworkInNetwork> AllLinears()
    {
        foreach (var stage in Model.DownStages)
            foreach (var block in stage.Blocks)
                if (block.SkipLayer is not null) yield return block.SkipLayer;
        yield return Model.OutputLayer;
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
        // With one order for the batch the indices are shared: index_select and index_copy_ need no expansion.
        int n = plan.SharedOrder ? 1 : plan.Orders.Count, width = Model.Config.Width, steps = plan.EndStep - plan.FirstStep;
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
            positions[s] = tensor(position, plan.SharedOrder ? new long[] { 1 } : new long[] { n, 1, 1 }, ScalarType.Int64, device);
            foreach (int d in dilations)
                neighbourhoods[d][s] = tensor(around[d], plan.SharedOrder ? new long[] { k * k } : new long[] { n, 1, k * k }, ScalarType.Int64, device);
        }
        return (positions, neighbourhoods);
    }
}
