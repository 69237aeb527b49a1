using System.Diagnostics;
using System.Globalization;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// <c>sampling-report</c>: the cached sampler's whole image set against one full forward pass of the same model at the
/// same batch, measured side by side in one run, as a markdown table (the issue's targets: at most 4 full passes per
/// image set at batch 16, at most 2 at batch 64). Options:
/// <c>--models binary,rgb</c>, <c>--orders s-curve,hilbert</c>, <c>--batches 16,64</c>,
/// <c>--passes P</c> and <c>--sets S</c> (S rounds, each of P full passes and one image set per path, interleaved; the
/// medians of each side; 5 and 1, after one warm-up of each),
/// <c>--threads T</c> (libtorch threads of the full passes; all cores), <c>--sampler-threads 1|2|all</c>
/// (<see cref="SamplingOptions.CpuThreads"/>; the library's default), <c>--profile</c> (one more image set per row with
/// the steps' time split into phases), <c>--naive-steps K</c> (also time the naive sampler's first K pixels, scaled to H*W),
/// <c>--paths cpu,torch</c> (the cached sampler's CPU loops, the default, and/or its torch-operations path, which other
/// devices use; one row each).
/// </summary>
internal static class SamplingReport
{
    public static int Run(string[] args)
    {
        string Option(string name, string fallback) => Array.IndexOf(args, name) is var at and >= 0 ? args[at + 1] : fallback;
        var models = Option("--models", "binary,rgb").Split(',');
        var orders = Option("--orders", "s-curve,hilbert").Split(',');
        var batches = Option("--batches", "16,64").Split(',').Select(int.Parse).ToArray();
        int passes = int.Parse(Option("--passes", "5"), CultureInfo.InvariantCulture);
        int sets = int.Parse(Option("--sets", "1"), CultureInfo.InvariantCulture);
        int naiveSteps = int.Parse(Option("--naive-steps", "0"), CultureInfo.InvariantCulture);
        bool profile = args.Contains("--profile");
        var paths = Option("--paths", "cpu").Split(',');
        string samplerThreadsText = Option("--sampler-threads", "default");
        int? samplerThreads = samplerThreadsText switch
        {
            "default" => new SamplingOptions().CpuThreads,
            "all" => null,
            var t => int.Parse(t, CultureInfo.InvariantCulture),
        };
        torch.set_num_threads(int.Parse(Option("--threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture));

        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {LoadAverage()}, {Environment.ProcessorCount} cores");
        Console.WriteLine($"full passes: {torch.get_num_threads()} threads; cached sampler: CpuThreads = " +
            $"{samplerThreads?.ToString(CultureInfo.InvariantCulture) ?? "libtorch's setting"}; {sets} round(s) of {passes} full passes and one image set " +
            "per path, interleaved, medians, after one warm-up of each; load: 1-minute load average at the end of the row");
        Console.WriteLine();
        var header = "| model | order | batch | path | full pass (s) | image set (s) | image set / full pass | images/s | target | load |";
        if (naiveSteps > 0) header += " naive (s per image set) | cached speedup |";
        Console.WriteLine(header);
        Console.WriteLine("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |" + (naiveSteps > 0 ? " ---: | ---: |" : ""));

        var profiles = new List<(string Row, StepProfile Profile)>();
        foreach (var modelName in models)
        {
            var config = SamplingModels.Config(modelName);
            using var model = SamplingModels.Build(config);
            foreach (var orderName in orders)
            {
                var order = SamplingModels.Order(orderName, config);
                foreach (int batch in batches)
                {
                    using var rowScope = NewDisposeScope();
                    double naive = naiveSteps > 0 ? NaiveImageSet(model, order, batch, naiveSteps) : 0;
                    var samplers = paths.Select(path => new CachedSampler(model) { UseCpuKernels = path == "cpu" }).ToArray();
                    var options = new SamplingOptions { Seed = 0, CpuThreads = samplerThreads };
                    foreach (var sampler in samplers)
                        using (NewDisposeScope()) sampler.Sample(order, batch, options);
                    // Rounds of full passes and image sets, interleaved, so that a change of the machine's load during the
                    // row affects both sides of the ratio alike.
                    var passTimes = new List<double>();
                    var setTimes = samplers.Select(_ => new List<double>()).ToArray();
                    for (int round = 0; round < sets; round++)
                    {
                        passTimes.AddRange(FullPasses(model, order, batch, passes, warmUp: round == 0));
                        for (int k = 0; k < samplers.Length; k++)
                        {
                            using var setScope = NewDisposeScope();
                            var clock = Stopwatch.StartNew();
                            samplers[k].Sample(order, batch, options with { Seed = 1 + round });
                            setTimes[k].Add(clock.Elapsed.TotalSeconds);
                        }
                    }
                    double fullPass = Median(passTimes);
                    string load = LoadAverage().Split(' ')[0];
                    for (int k = 0; k < samplers.Length; k++)
                    {
                        var path = paths[k];
                        var sampler = samplers[k];
                        double imageSet = Median(setTimes[k]);
                        double ratio = imageSet / fullPass;
                        double limit = batch >= 64 ? 2 : 4;
                        string target = batch is 16 or 64 ? $"<= {limit}: {(ratio <= limit ? "met" : "not met")}" : "-";
                        var row = $"| {SamplingModels.Describe(config)} | {orderName} | {batch} | {path} | {fullPass:F3} | {imageSet:F3} | {ratio:F2} | {batch / imageSet:F1} | {target} | {load} |";
                        if (naiveSteps > 0) row += $" {naive:F0} | {naive / imageSet:F0}x |";
                        Console.WriteLine(row);

                        if (profile)
                        {
                            sampler.Profile = new StepProfile();
                            using (NewDisposeScope()) sampler.Sample(order, batch, options with { Seed = 99 });
                            profiles.Add(($"{SamplingModels.Describe(config)} | {orderName} | {batch} | {path}", sampler.Profile));
                            sampler.Profile = null;
                        }
                    }
                }
            }
        }

        if (profile) PrintProfiles(profiles);
        return 0;
    }

    /// <summary>Timed forward passes of the whole network over the batch (the cost unit of the targets).</summary>
    private static IEnumerable<double> FullPasses(LocallyMaskedPixelCnn model, GenerationOrder order, int batch, int passes, bool warmUp)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var images = SamplingModels.Images(model.Config, batch);
        var masks = model.MasksFor(order);
        if (warmUp) model.forward(images, masks).Dispose();
        var times = new List<double>();
        for (int i = 0; i < passes; i++)
        {
            var clock = Stopwatch.StartNew();
            model.forward(images, masks).Dispose();
            times.Add(clock.Elapsed.TotalSeconds);
        }
        return times;
    }

    /// <summary>The naive sampler's first pixels (one full pass each, with its own threads), scaled to H*W pixels.</summary>
    private static double NaiveImageSet(LocallyMaskedPixelCnn model, GenerationOrder order, int batch, int steps)
    {
        var config = model.Config;
        var first = ImageRegion.FromPixels(config.Height, config.Width, order.Sequence.Take(steps));
        using var scope = NewDisposeScope();
        var context = zeros(batch, config.ImageChannels, config.Height, config.Width);
        var clock = Stopwatch.StartNew();
        new NaiveSampler(model).Complete(context, first, order, new SamplingOptions { Seed = 1 });
        return clock.Elapsed.TotalSeconds * config.PixelCount / steps;
    }

    private static void PrintProfiles(List<(string Row, StepProfile Profile)> profiles)
    {
        var phases = Enum.GetValues<StepPhase>();
        Console.WriteLine();
        Console.WriteLine("Where a step's time goes (one more image set per row; ms per step; torch operations per step in brackets, " +
            "those of the torch path's sampling not counted; tensors created per step, sampling included):");
        Console.WriteLine();
        Console.WriteLine("| model | order | batch | path | step (ms) | " + string.Join(" | ", phases.Select(p => p.ToString().ToLowerInvariant())) +
            " | other | operations | tensors created |");
        Console.WriteLine("| --- | --- | ---: | --- | ---: | " + string.Join(" | ", phases.Select(_ => "---:")) + " | ---: | ---: | ---: |");
        foreach (var (row, p) in profiles)
        {
            double perStep(TimeSpan t) => t.TotalMilliseconds / p.Steps;
            double counted = phases.Sum(phase => perStep(p.Time(phase)));
            var cells = phases.Select(phase =>
                p.Operations(phase) > 0 ? $"{perStep(p.Time(phase)):F3} ({p.Operations(phase) / (double)p.Steps:F0})" : $"{perStep(p.Time(phase)):F3}");
            long operations = phases.Sum(phase => p.Operations(phase));
            Console.WriteLine($"| {row} | {perStep(p.Total):F3} | {string.Join(" | ", cells)} | {perStep(p.Total) - counted:F3} | " +
                $"{operations / (double)p.Steps:F0} | {p.TensorsCreated / (double)p.Steps:F0} |");
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
