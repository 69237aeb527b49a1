using System.Diagnostics;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// <c>sampling-report</c>: naive against cached sampling in one run, as a markdown table. The naive sampler
/// runs the whole image set end to end with <c>--full-naive</c>; otherwise it runs the first pixels of the
/// order and the table scales them to H*W (each naive step is one full pass, so the cost is linear).
/// </summary>
internal static class SamplingReport
{
    public static int Run(string[] args)
    {
        bool fullNaive = args.Contains("--full-naive");
        bool cachedOnly = args.Contains("--cached-only");
        int stepsAt = Array.IndexOf(args, "--naive-steps");
        int naiveSteps = stepsAt >= 0 ? int.Parse(args[stepsAt + 1]) : 32;
        int threadsAt = Array.IndexOf(args, "--threads");
        int samplerThreadsAt = Array.IndexOf(args, "--sampler-threads");
        int? samplerThreads = samplerThreadsAt < 0 ? 1 : args[samplerThreadsAt + 1] == "all" ? null : int.Parse(args[samplerThreadsAt + 1]);
        torch.set_num_threads(threadsAt >= 0 ? int.Parse(args[threadsAt + 1]) : Environment.ProcessorCount);
        Console.WriteLine($"threads: {torch.get_num_threads()}, naive: {(fullNaive ? "whole image sets" : $"first {naiveSteps} pixels, scaled to H*W")}");
        Console.WriteLine("| model | order | batch | naive (s per image set) | cached (s per image set) | speedup |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (config, batch) in new[] { (SamplingModels.BinaryDigits, 16), (SamplingModels.SmallRgb, 8) })
        {
            using var model = SamplingModels.Build(config);
            foreach (var orderName in new[] { "s-curve", "hilbert" })
            {
                var order = SamplingModels.Order(orderName, config);
                // Warm both paths once (JIT, allocator).
                using (NewDisposeScope()) new CachedSampler(model).Sample(order, batch, new SamplingOptions { Seed = 0, CpuThreads = samplerThreads });

                var clock = Stopwatch.StartNew();
                using (NewDisposeScope()) new CachedSampler(model).Sample(order, batch, new SamplingOptions { Seed = 1, CpuThreads = samplerThreads });
                double cached = clock.Elapsed.TotalSeconds;

                double naive;
                string naiveNote;
                if (cachedOnly)
                {
                    Console.WriteLine($"| {SamplingModels.Describe(config)} | {orderName} | {batch} | - | {cached:F2} | - |");
                    continue;
                }
                if (fullNaive)
                {
                    clock.Restart();
                    using (NewDisposeScope()) new NaiveSampler(model).Sample(order, batch, new SamplingOptions { Seed = 1 });
                    naive = clock.Elapsed.TotalSeconds;
                    naiveNote = $"{naive:F1}";
                }
                else
                {
                    var first = ImageRegion.FromPixels(config.Height, config.Width, order.Sequence.Take(naiveSteps));
                    using var context = zeros(batch, config.ImageChannels, config.Height, config.Width);
                    clock.Restart();
                    using (NewDisposeScope()) new NaiveSampler(model).Complete(context, first, order, new SamplingOptions { Seed = 1 });
                    naive = clock.Elapsed.TotalSeconds * config.PixelCount / naiveSteps;
                    naiveNote = $"{naive:F0} (= {clock.Elapsed.TotalSeconds:F2} s for {naiveSteps} px x {config.PixelCount / (double)naiveSteps:F1})";
                }
                Console.WriteLine($"| {SamplingModels.Describe(config)} | {orderName} | {batch} | {naiveNote} | {cached:F2} | {naive / cached:F0}x |");
            }
        }
        return 0;
    }
}
