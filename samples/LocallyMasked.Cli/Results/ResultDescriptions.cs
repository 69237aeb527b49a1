using System.Security.Cryptography;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Results;

/// <summary>What an evaluation result says about its model, its data and its orders, as the program knows them.</summary>
public static class ResultDescriptions
{
    /// <summary>The model of a result: its files with their SHA-256, which weights, and the options that changed how it was read
    /// or computed (a mixed precision among them).</summary>
    /// <param name="file">The model file settings.</param>
    /// <param name="loaded">The loaded model.</param>
    /// <param name="precision">The precision the figures were computed in; null or float32: nothing recorded.</param>
    public static EvaluatedModel Model(ModelFileSettings file, ModelSource.Loaded loaded, ComputePrecision? precision = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(loaded);
        var files = new[] { file.Checkpoint }.Concat(file.Average).ToArray();
        var config = loaded.Model.Configuration;
        var loading = new List<string>();
        if (file.Normalization is { } normalization)
            loading.Add($"--normalization {NormalizationNames.All.FirstOrDefault(kv => kv.Value == normalization).Key ?? normalization.ToString()}");
        if (file.MaxDilation is { } dilation) loading.Add($"--max-dilation {dilation}");
        if (file.OrderVariants.Count > 0) loading.Add($"--order-variants {string.Join(" ", file.OrderVariants)}");
        // Figures computed in another precision are not float32's: merge keeps parts of one precision together.
        if (precision is { IsMixed: true }) loading.Add($"--precision {precision}");
        return new EvaluatedModel
        {
            Kind = ModelCatalog.Get(loaded.Model.Kind).Name,
            Files = files,
            Sha256 = files.Select(FileSha256).ToArray(),
            Weights = file.Average.Count > 0 ? "mean" : file.EmaWeights ? "ema" : "trained",
            Step = loaded.Step,
            Description = $"{config.Filters} filters, {config.ResidualBlocks} blocks, {config.ImageChannels}x{config.Height}x{config.Width}, {config.Likelihood} likelihood"
                + (config.Likelihood == LocallyMasked.Likelihoods.LikelihoodKind.Binary ? "" : $", {config.MixtureComponents} mixtures, {config.Bits}-bit"),
            Loading = string.Join(" ", loading),
        };
    }

    /// <summary>The data of a result: the first <paramref name="count"/> images of <paramref name="images"/>, identified by their SHA-256.</summary>
    /// <param name="dataset">The data set's name.</param>
    /// <param name="source">Where the images were read from.</param>
    /// <param name="split">"test", or "files".</param>
    /// <param name="images">The split's images.</param>
    /// <param name="count">How many of them the whole evaluation takes (the first ones).</param>
    /// <param name="encoding">How the model sees them (binarized data has 1 bit).</param>
    /// <param name="bits">The model's bit depth.</param>
    public static EvaluatedData Data(string dataset, string source, string split, ImageDataset images, int count, InputEncoding encoding, int bits)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < count; i++) hash.AppendData(images.Image(i));
        return new EvaluatedData
        {
            Dataset = dataset,
            Source = source,
            Split = split,
            SplitImages = images.Count,
            Channels = images.Channels,
            Height = images.Height,
            Width = images.Width,
            Bits = encoding == InputEncoding.DynamicBinarization ? 1 : bits,
            Sha256 = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant(),
        };
    }

    /// <summary>The orders' names as the table shows them: "raster" for a raster-only model, else "0 (Identity)", "1 (ReflectRows)", ...</summary>
    /// <param name="model">The model.</param>
    /// <param name="count">How many orders.</param>
    public static IReadOnlyList<string> OrderNames(IAutoregressiveImageModel model, int count)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.SupportedOrders is null
            ? Enumerable.Range(0, count).Select(i => $"{i} ({(OrderSymmetry)i})").ToArray()
            : Enumerable.Repeat("raster", count).ToArray();
    }

    /// <summary>The SHA-256 of a file's bytes, lower-case hexadecimal.</summary>
    /// <param name="path">The file.</param>
    public static string FileSha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }
}
