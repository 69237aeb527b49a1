using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Evaluation;

/// <summary>
/// Region scoring (<see cref="LikelihoodEvaluation.EvaluateRegion"/>, what <c>lmconv evaluate --region</c> prints): the
/// mean over images of the model's own <see cref="IAutoregressiveImageModel.RegionLogLikelihood"/>, whatever the batches.
/// </summary>
public sealed class RegionEvaluationTests
{
    private sealed class Counts : IProgress<int>
    {
        public List<int> Seen { get; } = new();

        public void Report(int value) => Seen.Add(value);
    }

    /// <summary>The mean negative region log-likelihood of the first <paramref name="count"/> images, in one call on all of them.</summary>
    private static double Reference(IAutoregressiveImageModel model, LocallyMasked.Training.Data.ImageDataset data, ImageRegion region, IReadOnlyList<GenerationOrder> orders, int count)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Trainer.EncodeFixed(data, Enumerable.Range(0, count).ToArray(), InputEncoding.DynamicBinarization, CPU, ScalarType.Float64);
        return -model.RegionLogLikelihood(x, region, orders).mean().item<double>();
    }

    [Theory]
    [InlineData(12, 7)]   // 3 orders: 4 images per batch, the last batch of 3
    [InlineData(3, 7)]    // fewer pairs than orders: one image per batch
    [InlineData(64, 5)]   // one batch
    public void The_region_score_is_the_mean_of_the_models_region_log_likelihood_over_batches(int batchSize, int images)
    {
        torch.manual_seed(11);
        using var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary(), dtype: ScalarType.Float64);
        model.train();
        var data = PixelCnnTrainingTests.Digits(9, 6);
        var orders = GenerationOrders.SCurve(6, 6).Variants().Take(3).ToArray();
        var region = ImageRegion.TopHalf(6, 6);
        var progress = new Counts();

        var report = LikelihoodEvaluation.EvaluateRegion(model, data, InputEncoding.DynamicBinarization, region, orders, images, batchSize, progress);

        report.Nats.Should().BeApproximately(Reference(model, data, region, orders, images), 1e-10);
        (report.Images, report.Pixels, report.Dimensions, report.Orders, report.RegionLast).Should().Be((images, 18, 18, 3, true));
        report.BitsPerDimension.Should().BeApproximately(report.Nats / (18 * Math.Log(2)), 1e-12);
        progress.Seen.Should().BeInAscendingOrder().And.EndWith(images);
        model.training.Should().BeTrue("the model's mode is put back");
    }

    [Fact]
    public void A_raster_only_model_scores_the_region_given_the_pixels_before_it_and_says_so()
    {
        torch.manual_seed(12);
        var config = PixelCnnPlusPlusConfig.BinarizedMnist with { Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1, Dropout = 0 };
        using var model = new PixelCnnPlusPlus(config, dtype: ScalarType.Float64);
        var data = PixelCnnTrainingTests.Digits(5, 8);
        var region = ImageRegion.Centre(8, 8);

        var report = LikelihoodEvaluation.EvaluateRegion(model, data, InputEncoding.DynamicBinarization, region, model.SupportedOrders, 0, 2);

        report.Nats.Should().BeApproximately(Reference(model, data, region, model.SupportedOrders, 5), 1e-10);
        (report.Images, report.Orders, report.RegionLast).Should().Be((5, 1, false));
    }

    [Fact]
    public void Regions_images_and_orders_of_another_size_are_refused_naming_the_argument()
    {
        using var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary(), dtype: ScalarType.Float64);
        var data = PixelCnnTrainingTests.Digits(2, 6);
        var orders = new[] { GenerationOrders.SCurve(6, 6) };
        var wrongRegion = () => LikelihoodEvaluation.EvaluateRegion(model, data, InputEncoding.DynamicBinarization, ImageRegion.TopHalf(8, 8), orders);
        wrongRegion.Should().Throw<ArgumentException>().WithParameterName("region").WithMessage("*8x8*6x6*");
        var wrongImages = () => LikelihoodEvaluation.EvaluateRegion(model, PixelCnnTrainingTests.Digits(2, 8), InputEncoding.DynamicBinarization,
            ImageRegion.TopHalf(6, 6), orders);
        wrongImages.Should().Throw<ArgumentException>().WithParameterName("data");
        var wrongOrders = () => LikelihoodEvaluation.EvaluateRegion(model, data, InputEncoding.DynamicBinarization, ImageRegion.TopHalf(6, 6),
            new[] { GenerationOrders.SCurve(8, 8) });
        wrongOrders.Should().Throw<ArgumentException>().WithParameterName("orders");
        var noBatch = () => LikelihoodEvaluation.EvaluateRegion(model, data, InputEncoding.DynamicBinarization, ImageRegion.TopHalf(6, 6), orders, batchSize: 0);
        noBatch.Should().Throw<ArgumentException>().WithParameterName("batchSize");
    }
}
