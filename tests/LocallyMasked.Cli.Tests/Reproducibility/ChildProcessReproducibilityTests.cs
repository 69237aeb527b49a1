using System.Diagnostics;
using LocallyMasked.Cli.Tests;

namespace LocallyMasked.Cli.Tests.Reproducibility;

/// <summary>
/// Same seed, same bits, whatever the memory holds and whatever the garbage collector does, shown in child processes:
/// <list type="bullet">
/// <item>glibc's <c>MALLOC_PERTURB_</c> fills every fresh allocation (and every freed one) with a byte: the same seeded work
/// under two bytes gives the same bits unless something reads memory that was never written (or was freed). The mmap
/// threshold is raised to its maximum, so that no allocation comes zeroed from the kernel instead.</item>
/// <item>A thread that runs <c>GC.Collect(); GC.WaitForPendingFinalizers();</c> in a loop beside the work, with concurrent
/// collections on: a TorchSharp Scalar, Generator or tensor that libtorch reads after its finalizer ran then shows as
/// an error, a crash or a difference.</item>
/// </list>
/// The probe program (tests/LocallyMasked.ReproducibilityProbe) covers every convolution kernel, both models with every
/// head (loss, gradients, per-order and ensemble likelihoods), training with and without workers (dropout and the weight
/// average on), evaluation on workers and cached and naive sampling; the program is run as users run it.
/// </summary>
public class ChildProcessReproducibilityTests
{
    private const string MaximumMmapThreshold = "33554432";

    [Fact]
    public void The_probe_gives_the_same_bits_under_two_malloc_fill_bytes()
    {
        var first = Probe(new[] { "all" }, ("MALLOC_PERTURB_", "85"), ("MALLOC_MMAP_THRESHOLD_", MaximumMmapThreshold));
        var second = Probe(new[] { "all" }, ("MALLOC_PERTURB_", "170"), ("MALLOC_MMAP_THRESHOLD_", MaximumMmapThreshold));
        first.Code.Should().Be(0, first.Err);
        second.Code.Should().Be(0, second.Err);
        Lines(first.Out).Length.Should().BeGreaterThan(300, "every scenario prints its results");
        Lines(second.Out).Should().Equal(Lines(first.Out));
    }

    [Fact]
    public void The_probe_gives_the_same_bits_while_another_thread_forces_collections()
    {
        var plain = Probe(new[] { "all" });
        var stressed = Probe(new[] { "--gc-stress", "--repeat", "2", "all" }, ("DOTNET_gcConcurrent", "1"));
        plain.Code.Should().Be(0, plain.Err);
        stressed.Code.Should().Be(0, "no error and no repetition that differs: " + stressed.Err + stressed.Out);
        Lines(stressed.Out).Should().Equal(Lines(plain.Out));
    }

    [Theory]
    [InlineData("lmconv")]
    [InlineData("pixelcnn++")]
    public void The_program_writes_the_same_checkpoint_under_fill_bytes_and_frequent_collections(string model)
    {
        using var folder = new TemporaryFolder();
        var args = new[] { "train", "--model", model, "--filters", "4", "--blocks", "1", "--steps", "2", "--batch-size", "4",
            "--train-images", "32", "--samples", "0", "--eval-every", "0", "--final-eval-images", "4", "--dropout", "0.2" };
        var runs = new[]
        {
            ("perturb-85", new[] { ("MALLOC_PERTURB_", "85"), ("MALLOC_MMAP_THRESHOLD_", MaximumMmapThreshold) }),
            ("perturb-170", new[] { ("MALLOC_PERTURB_", "170"), ("MALLOC_MMAP_THRESHOLD_", MaximumMmapThreshold) }),
            // A 64 KB first generation collects every few operations, on the program's two worker threads too.
            ("frequent-gc", new[] { ("DOTNET_GCgen0size", "0x10000"), ("DOTNET_gcConcurrent", "1") }),
        };
        var checkpoints = new List<byte[]>();
        foreach (var (name, environment) in runs)
        {
            var output = Path.Combine(folder.Path, name);
            var result = Run(Lmconv.Executable, args.Append("--output").Append(output).ToArray(), environment);
            result.Code.Should().Be(0, $"{name}: {result.Err}");
            checkpoints.Add(File.ReadAllBytes(Path.Combine(output, "model.ckpt")));
        }
        checkpoints[1].Should().Equal(checkpoints[0], "a read of unwritten memory would make the fill bytes show");
        checkpoints[2].Should().Equal(checkpoints[0], "collections must not change a result");
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static Lmconv.Result Probe(string[] args, params (string Name, string Value)[] environment)
    {
        var cli = Lmconv.Executable;
        var binFolder = Path.GetDirectoryName(cli)!;   // samples/LocallyMasked.Cli/bin/<configuration>/<tfm>
        var framework = Path.GetFileName(binFolder);
        var configuration = Path.GetFileName(Path.GetDirectoryName(binFolder)!);
        var root = Path.GetFullPath(Path.Combine(binFolder, "..", "..", "..", "..", ".."));
        var probe = Path.Combine(root, "tests", "LocallyMasked.ReproducibilityProbe", "bin", configuration, framework, "LocallyMasked.ReproducibilityProbe.dll");
        File.Exists(probe).Should().BeTrue($"{probe} is built with the solution");
        return Run("dotnet", new[] { probe }.Concat(args).ToArray(), environment);
    }

    private static Lmconv.Result Run(string program, string[] args, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} ran over 5 minutes.");
        }
        return new Lmconv.Result(process.ExitCode, output.Result, error.Result);
    }

    private sealed class TemporaryFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("lm-reproducibility-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
