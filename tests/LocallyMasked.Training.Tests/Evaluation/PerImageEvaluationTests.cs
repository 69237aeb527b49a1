using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training.Distributed;
using LocallyMasked.Training.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Evaluation;

/// <summary>
/// Every image's figures (<see cref="EvaluationReport.PerImage"/>): equal to the model's own likelihoods of each image,
/// averaged in image order to the report's means, and the same, bit for bit, when the images are evaluated in parts.
/// </summary>
public sealed class PerImageEvaluationTests
{
    private static readonly GenerationOrder[] Orders = GenerationOrders.SCurve(6, 6).Variants().Take(3).ToArray();

    [Fact]
    public void Each_images_figures_are_the_models_likelihoods_of_that_image_and_the_means_their_average()
    {
        torch.manual_seed(21);
        using var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary(), dtype: ScalarType.Float64);
        var data = PixelCnnTrainingTests.Digits(9, 6);

        var report = LikelihoodEvaluation.Evaluate(model, data, InputEncoding.DynamicBinarization, Orders, images: 7, batchSize: 6);

        report.PerImage.Select(i => i.Index).Should().Equal(Enumerable.Range(0, 7));
        using (var noGrad = no_grad())
        {
            model.eval();
            for (int i = 0; i < 7; i++)
            {
                // One image alone, in one pass: an independent computation of its figures.
                using var scope = NewDisposeScope();
                var x = Trainer.EncodeFixed(data, new[] { i }, InputEncoding.DynamicBinarization, CPU, ScalarType.Float64);
                var perOrder = model.PerOrderLogLikelihoods(x, Orders);
                for (int o = 0; o < Orders.Length; o++)
                    report.PerImage[i].PerOrder[o].Should().BeApproximately(-perOrder[0, o].item<double>(), 1e-9, $"image {i}, order {o}");
                report.PerImage[i].Ensemble.Should().BeApproximately(-OrderEnsemble.Mix(perOrder)[0].item<double>(), 1e-9);
            }
        }

        // The means are the images' values added in image order and divided by the count: exactly, not approximately.
        for (int o = 0; o < Orders.Length; o++)
        {
            double sum = 0;
            foreach (var image in report.PerImage) sum += image.PerOrder[o];
            report.PerOrder[o].Should().Be(sum / 7);
        }
        double ensemble = 0;
        foreach (var image in report.PerImage) ensemble += image.Ensemble;
        report.Ensemble.Should().Be(ensemble / 7);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void Parts_cut_at_batch_boundaries_give_the_whole_evaluations_figures_bit_for_bit(int parts)
    {
        // float32, as the program runs: an image's figures depend on the batch it is in, so parts must keep the batches.
        torch.manual_seed(22);
        using var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary());
        var data = PixelCnnTrainingTests.Digits(11, 6);
        var region = ImageRegion.Centre(6, 6);
        const int batchSize = 6, images = 11;   // 2 images per batch of 3 orders
        var whole = LikelihoodEvaluation.Evaluate(model, data, InputEncoding.DynamicBinarization, Orders, images, batchSize);
        var wholeRegion = LikelihoodEvaluation.EvaluateRegion(model, data, InputEncoding.DynamicBinarization, region, Orders, images, batchSize);

        int perBatch = LikelihoodEvaluation.ImagesPerBatch(batchSize, Orders.Length);
        var pieces = new List<ImageNats>();
        var regionPieces = new List<double>();
        for (int p = 0; p < parts; p++)
        {
            var range = new Shard(p, parts).RangeOf(images, perBatch);
            if (range.Count == 0) continue;
            var part = LikelihoodEvaluation.Evaluate(model, data, InputEncoding.DynamicBinarization, Orders, range, batchSize);
            var partRegion = LikelihoodEvaluation.EvaluateRegion(model, data, InputEncoding.DynamicBinarization, region, Orders, range, batchSize);
            part.PerImage.Select(i => i.Index).Should().Equal(Enumerable.Range(range.Start, range.Count));
            partRegion.FirstImage.Should().Be(range.Start);
            pieces.AddRange(part.PerImage);
            regionPieces.AddRange(partRegion.PerImage);
        }

        var merged = EvaluationReport.FromImages(pieces, data.ImageSize);
        for (int i = 0; i < images; i++)
        {
            pieces[i].PerOrder.Should().Equal(whole.PerImage[i].PerOrder, $"image {i}");
            pieces[i].Ensemble.Should().Be(whole.PerImage[i].Ensemble);
        }
        merged.PerOrder.Should().Equal(whole.PerOrder);
        merged.Ensemble.Should().Be(whole.Ensemble);
        regionPieces.Should().Equal(wholeRegion.PerImage);
        RegionEvaluationReport.FromImages(0, regionPieces, wholeRegion.Pixels, wholeRegion.Dimensions, wholeRegion.Orders, wholeRegion.RegionLast).Nats
            .Should().Be(wholeRegion.Nats);
    }

    [Fact]
    public void A_range_outside_the_data_or_empty_is_refused_naming_it()
    {
        torch.manual_seed(23);
        using var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary());
        var data = PixelCnnTrainingTests.Digits(4, 6);
        var past = () => LikelihoodEvaluation.Evaluate(model, data, InputEncoding.DynamicBinarization, Orders, new ImageRange(2, 3));
        past.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "range");
        var empty = () => LikelihoodEvaluation.Evaluate(model, data, InputEncoding.DynamicBinarization, Orders, new ImageRange(1, 0));
        empty.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "range");
    }
}
