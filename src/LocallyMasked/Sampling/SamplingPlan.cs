using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// What a sampling call does, independent of how: for every step t in [FirstStep, EndStep), image i
/// visits pixel <c>Orders[i].Sequence[t]</c> and samples it when it is in the region, otherwise keeps its
/// observed value. Both samplers consume <see cref="Uniforms"/>[t - FirstStep] at step t, so with the same
/// seed they make the same draws.
/// </summary>
internal sealed class SamplingPlan : IDisposable
{
    private SamplingPlan(IReadOnlyList<GenerationOrder> orders, bool[] region, int firstStep, int endStep, Tensor start, Tensor uniforms)
    {
        Orders = orders;
        Region = region;
        FirstStep = firstStep;
        EndStep = endStep;
        Start = start;
        Uniforms = uniforms;
    }

    /// <summary>One order per image.</summary>
    public IReadOnlyList<GenerationOrder> Orders { get; }

    /// <summary>Whether each pixel is generated (true) or observed (false).</summary>
    public bool[] Region { get; }

    /// <summary>The first step whose pixel is generated in some image.</summary>
    public int FirstStep { get; }

    /// <summary>One past the last step whose pixel is generated in some image.</summary>
    public int EndStep { get; }

    /// <summary>The starting images (N, C, H, W): observed values, zeros in the region.</summary>
    public Tensor Start { get; }

    /// <summary>Uniform draws (EndStep - FirstStep, N, U) in [0, 1).</summary>
    public Tensor Uniforms { get; }

    /// <summary>Whether all images share one order (the same object or equal sequences).</summary>
    public bool SharedOrder => Orders.All(o => o.Equals(Orders[0]));

    /// <summary>The pixel that image i visits at step t.</summary>
    public int PixelAt(int image, int step) => Orders[image].Sequence[step];

    /// <summary>The pixel of each image at step t, as an index tensor (N, 1, 1) on <paramref name="device"/>.</summary>
    public Tensor PixelIndex(int step, Device device) =>
        tensor(Enumerable.Range(0, Orders.Count).Select(i => (long)PixelAt(i, step)).ToArray(), new long[] { Orders.Count, 1, 1 }, ScalarType.Int64, device);

    /// <summary>Whether each image generates its pixel at step t, as a boolean tensor (N) on <paramref name="device"/>.</summary>
    public Tensor Generated(int step, Device device) =>
        tensor(Enumerable.Range(0, Orders.Count).Select(i => Region[PixelAt(i, step)]).ToArray(), new long[] { Orders.Count }, ScalarType.Bool, device);

    /// <summary>Whether any image generates (rather than observes) its pixel at step t.</summary>
    public bool AnySampledAt(int step)
    {
        for (int i = 0; i < Orders.Count; i++) if (Region[PixelAt(i, step)]) return true;
        return false;
    }

    public static SamplingPlan Create(IAutoregressiveImageModel model, IReadOnlyList<GenerationOrder> orders, Tensor? images,
        ImageRegion? region, SamplingOptions options)
    {
        var config = model.Configuration;
        int n = orders.Count;
        var inRegion = new bool[config.PixelCount];
        if (region is null) Array.Fill(inRegion, true);
        else foreach (int p in region.Pixels) inRegion[p] = true;

        int first = int.MaxValue, end = 0;
        foreach (var order in orders)
        {
            for (int t = 0; t < order.PixelCount; t++)
            {
                if (!inRegion[order.Sequence[t]]) continue;
                first = Math.Min(first, t);
                end = Math.Max(end, t + 1);
            }
        }
        if (end == 0) first = 0;

        using var scope = NewDisposeScope();
        var device = model.Device;
        var dtype = model.DType;
        Tensor start;
        if (images is null)
        {
            start = zeros(new long[] { n, config.ImageChannels, config.Height, config.Width }, dtype, device);
        }
        else
        {
            using var keep = tensor(inRegion.Select(b => b ? 0.0 : 1.0).ToArray(), new long[] { 1, 1, config.Height, config.Width }, dtype, device);
            start = images.detach() * keep;
        }

        int uniformsPerPixel = model.Likelihood.UniformsPerPixel;
        var shape = new long[] { Math.Max(end - first, 0), n, uniformsPerPixel };
        Tensor uniforms;
        if (options.Seed is long seed)
        {
            using var generator = new Generator(unchecked((ulong)seed));
            uniforms = rand(shape, ScalarType.Float64, CPU, generator: generator);
        }
        else
        {
            uniforms = rand(shape, ScalarType.Float64, CPU);
        }
        // Draw on the CPU in float64 so that every device and dtype sees the same numbers.
        uniforms = uniforms.to(dtype, device);
        return new SamplingPlan(orders, inRegion, first, end, start.MoveToOuterDisposeScope(), uniforms.MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        Start.Dispose();
        Uniforms.Dispose();
    }
}
