using LocallyMasked.Checkpoints;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.TestSupport;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Checkpoints.Hostile;

/// <summary>Sizes from files and from callers (checked arithmetic), and weights that are not finite, in every format.</summary>
public sealed partial class HostileInputSuite
{
    private static IEnumerable<HostileCase> SizeAndWeightCases()
    {
        var fail = typeof(CheckpointException);
        yield return ZipCase("args['resize_sizes'] is [100000] (10^10 pixels)", fail, "CheckpointLimits.MaxImagePixels",
            ("args", p => Args(p, ("dataset", q => q.Str("mnist")), ("resize_sizes", q => q.EmptyList().Int(100_000).Append()))));
        yield return ZipCase("args['resize_sizes'] is [0]", fail, "args['resize_sizes'] holds 0, expected positive sizes",
            ("args", p => Args(p, ("dataset", q => q.Str("mnist")), ("resize_sizes", q => q.EmptyList().Int(0).Append()))));
        yield return ZipCase("args['resize_sizes'] is [2^40]", fail, "args['resize_sizes'] is 1099511627776, expected positive sizes",
            ("args", p => Args(p, ("dataset", q => q.Str("mnist")), ("resize_sizes", q => q.EmptyList().Int(1L << 40).Append()))));
        yield return ZipCase("args['celeba_size'] is -3", fail, "args['celeba_size'] holds -3, expected positive sizes",
            ("args", p => Args(p, ("dataset", q => q.Str("celebahq")), ("celeba_size", q => q.Int(-3)))));
        yield return new HostileCase("a training checkpoint records 2000x2000 images", folder =>
        {
            var path = Path.Combine(folder, "hostile.ckpt");
            WriteTrainingCheckpoint(path, TinyGrey with { Height = 2000, Width = 2000 }, Weights);
            return () => PixelCnnCheckpoint.LoadModel(path).Dispose();
        }, fail, "CheckpointLimits.MaxImagePixels");
        yield return new HostileCase("a training checkpoint records an order of 100000x100000 pixels", folder =>
        {
            var path = Path.Combine(folder, "hostile.ckpt");
            WriteTrainingCheckpoint(path, TinyGrey, Weights, m => m with { Height = 100_000, Width = 100_000 });
            return () => PixelCnnCheckpoint.LoadModel(path).Dispose();
        }, typeof(InvalidDataException), "records an invalid order (A 100000x100000 image has 10000000000 pixels");
        yield return new HostileCase("a training checkpoint records an order that is no permutation", folder =>
        {
            var path = Path.Combine(folder, "hostile.ckpt");
            WriteTrainingCheckpoint(path, TinyGrey, Weights, m => m with { OrderSequences = new[] { new int[TinyGrey.Height * TinyGrey.Width] } });
            return () => PixelCnnCheckpoint.LoadModel(path).Dispose();
        }, typeof(InvalidDataException), "records an invalid order");

        yield return NonFiniteCase("a .pth (zip) holds a NaN weight", "'nin_out.lin_a.bias' (1 of 6 values)", (path, weights) =>
            TorchSaveFiles.WriteZip(path, TorchSaveFiles.Checkpoint(weights)));
        yield return NonFiniteCase("a .pth (legacy) holds a NaN weight", "'nin_out.lin_a.bias' (1 of 6 values)", (path, weights) =>
            TorchSaveFiles.WriteLegacy(path, TorchSaveFiles.Checkpoint(weights)));
        yield return NonFiniteCase("a TorchSharp file holds a NaN weight", "'nin_out.lin_a.bias' (1 of 6 values)", (path, weights) =>
        {
            using var model = new LocallyMaskedPixelCnn(TinyGrey, dtype: ScalarType.Float32);
            PixelCnnCheckpoint.LoadStateDict(model, weights);
            PixelCnnCheckpoint.Save(model, path);
        });
        yield return NonFiniteCase("a training checkpoint holds a NaN weight", "'nin_out.lin_a.bias' (1 of 6 values)", (path, weights) =>
            WriteTrainingCheckpoint(path, TinyGrey, weights));

        // Sizes the caller gives, whose products would wrap around.
        yield return Call("ImageRegion.Box with a height and width that overflow", typeof(ArgumentOutOfRangeException), "does not fit in a 32x32 image",
            () => ImageRegion.Box(32, 32, 1, 1, int.MaxValue, int.MaxValue));
        yield return Call("ImageRegion.FromPixels of a 65536x65536 image", typeof(ArgumentOutOfRangeException), "4294967296 pixels",
            () => ImageRegion.FromPixels(65536, 65536, Array.Empty<int>()));
        yield return Call("GenerationOrders.SCurve of a 100000x100000 image", typeof(ArgumentOutOfRangeException), "10000000000 pixels",
            () => GenerationOrders.SCurve(100_000, 100_000));
        yield return Call("PixelCnnConfig of 3x40000x40000 images", typeof(ArgumentException), "4800000000 values",
            () => (TinyGrey with { ImageChannels = 3, Likelihood = LocallyMasked.Likelihoods.LikelihoodKind.RgbLogisticMixture, Height = 40_000, Width = 40_000 }).Validate());
    }

    private static HostileCase Call(string name, Type exception, string fragment, Action call) => new(name, _ => call, exception, fragment);

    /// <summary>A case that writes the tiny model's weights, with one NaN in <c>nin_out.lin_a.bias</c>, and loads the file.</summary>
    private static HostileCase NonFiniteCase(string name, string fragment, Action<string, IReadOnlyDictionary<string, Tensor>> write) =>
        new(name, folder =>
        {
            var path = Path.Combine(folder, "hostile");
            var weights = Weights.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
            weights["nin_out.lin_a.bias"][3] = tensor(float.NaN);
            write(path, weights);
            foreach (var t in weights.Values) t.Dispose();
            return () => PixelCnnCheckpoint.LoadModel(path, Options).Dispose();
        }, typeof(CheckpointException), fragment);

    /// <summary>Writes a training checkpoint of a Locally Masked PixelCNN++ that records <paramref name="config"/> and holds <paramref name="weights"/>.</summary>
    private static void WriteTrainingCheckpoint(string path, PixelCnnConfig config, IReadOnlyDictionary<string, Tensor> weights,
        Func<CheckpointMetadata, CheckpointMetadata>? change = null)
    {
        var definition = ModelCatalog.Get(ModelKind.LocallyMaskedPixelCnn);
        var order = GenerationOrders.Raster(TinyGrey.Height, TinyGrey.Width);
        var metadata = new CheckpointMetadata
        {
            Step = 1, TrainingImages = 1, Height = TinyGrey.Height, Width = TinyGrey.Width,
            OrderSequences = new[] { order.Sequence.ToArray() },
            ModelType = definition.TypeName, ModelConfiguration = definition.WriteConfiguration(config),
        };
        TrainingCheckpointFile.Save(path, new TrainingCheckpointSections(change?.Invoke(metadata) ?? metadata, null, Array.Empty<byte>()), weights, null);
    }
}
