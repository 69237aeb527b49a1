using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using static TorchSharp.torch;

namespace LocallyMasked.MpiProbe;

/// <summary>The parameter counts of the models whose gradients the allreduce carries (docs/benchmarks.md's configurations).</summary>
internal static class ParameterCounts
{
    /// <summary>lmconv train's default model and its 32- and 60-filter variants (binarized 28x28 digits).</summary>
    public static readonly (string Name, PixelCnnConfig Config)[] BinaryModels =
    [
        ("the default model (16 filters, 1 block)", Binary(16, 1)),
        ("32 filters, 1 block", Binary(32, 1)),
        ("60 filters, 2 blocks", Binary(60, 2)),
    ];

    public static void Print()
    {
        foreach (var (name, config) in BinaryModels.Append(("the paper's CIFAR-10 model (RGB 32x32, 160 filters, 5 blocks)", PixelCnnConfig.Cifar10)))
        {
            using var scope = NewDisposeScope();
            using var model = new LocallyMaskedPixelCnn(config);
            long count = model.parameters().Sum(p => p.numel());
            Console.WriteLine($"parameters {count} {name}");
        }
    }

    private static PixelCnnConfig Binary(int filters, int blocks) => new()
    {
        ImageChannels = 1,
        Height = 28,
        Width = 28,
        Filters = filters,
        ResidualBlocks = blocks,
        MixtureComponents = 5,
        Likelihood = LikelihoodKind.Binary,
    };
}
