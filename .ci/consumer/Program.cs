// A program outside the solution that uses the LocallyMasked and LocallyMasked.Training packages as a consumer would:
// orders -> masks -> LMConv -> a tiny PixelCNN++ likelihood -> cached sampling -> a few training steps -> a checkpoint
// loaded back. Exits 1 on a wrong number.
using LocallyMasked.Checkpoints;
using LocallyMasked.Convolution;
using LocallyMasked.Likelihoods;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using LocallyMasked.Training.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

int failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
    if (!ok) failures++;
}

torch.manual_seed(1);
var order = GenerationOrders.SCurve(8, 8);
Check(order.Sequence.OrderBy(p => p).SequenceEqual(Enumerable.Range(0, 64)), "S-curve order is a permutation");

var mask = LocalMasks.Create(order, 3, 1, MaskType.B, dtype: ScalarType.Float64);
Check(mask.shape.SequenceEqual(new long[] { 9, 64 }), "mask shape (9, 64)");
// Row 1 is generated right to left, so its interior pixels see their right neighbour (tap 5) and not the left one (tap 3).
Check(mask[5, 8 + 3].item<double>() == 1 && mask[3, 8 + 3].item<double>() == 0, "S-curve mask on an odd row");

var conv = new LocallyMaskedConv2d(2, 4, 3, dtype: ScalarType.Float64);
var x = randn(2, 2, 8, 8, ScalarType.Float64);
var ones9 = ones(9, 64, ScalarType.Float64);
var weight = conv.weight!;
var bias = conv.bias!;
var reference = nn.functional.conv2d(x, weight, bias, padding: new long[] { 1, 1 });
Check((conv.forward(x, ones9) - reference).abs().max().item<double>() < 1e-10, "LMConv with an all-ones mask equals conv2d");

var y = conv.forward(x, mask);
var later = x.clone();
later[TensorIndex.Colon, TensorIndex.Colon, 7, 7] += 1.0; // the last row runs right to left: (7, 7) is generated at step 56
var changed = (conv.forward(later, mask) - y).abs().sum(dim: 1L);
Check(changed[0, 6, 6].item<double>() == 0, "an earlier pixel does not see a later one");

var config = PixelCnnConfig.BinarizedMnist with { Height = 8, Width = 8, Filters = 8, ResidualBlocks = 1 };
var model = new LocallyMaskedPixelCnn(config, dtype: ScalarType.Float64);
model.eval();
var image = randint(0, 2, new long[] { 1, 1, 8, 8 }, dtype: ScalarType.Float64) * 2 - 1;
int first = order.Sequence[0];
var flipped = image.clone();
flipped.view(-1)[first] = -image.view(-1)[first];
double p1 = model.LogLikelihoodPerPixel(image, order).view(-1)[first].exp().item<double>();
double p2 = model.LogLikelihoodPerPixel(flipped, order).view(-1)[first].exp().item<double>();
Check(Math.Abs(p1 + p2 - 1) < 1e-12, $"the first pixel's two probabilities sum to one ({p1:F6} + {p2:F6})");
double ll = model.LogLikelihood(image, order).item<double>();
double ensemble = model.EnsembleLogLikelihood(image, new[] { order, order }).item<double>();
Check(ll < 0 && Math.Abs(ll - ensemble) < 1e-9, $"log p(x) = {ll:F4} nats; an ensemble of the same order agrees");

var samples = new CachedSampler(model).Sample(order, 2, new SamplingOptions { Seed = 3 });
var naive = new NaiveSampler(model).Sample(order, 2, new SamplingOptions { Seed = 3 });
Check(samples.equal(naive).all().item<bool>(), "cached and naive samplers draw the same images");

// Training: four binary 8x8 images, a few Adam steps, the loss goes down, the checkpoint rebuilds the model.
var pixels = new byte[4 * 64];
for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)((i / 8 + i) % 3 == 0 ? 255 : 0);
var data = new ImageDataset(pixels, new byte[4], 1, 8, 8, "stripes");
var trainerModel = new LocallyMaskedPixelCnn(config with { Filters = 4 });
using var trainer = PixelCnnTraining.CreateTrainer(trainerModel, new[] { order }, data, data,
    new TrainerOptions { BatchSize = 4, LearningRate = 0.02, Encoding = InputEncoding.DynamicBinarization });
double before = LikelihoodEvaluation.Evaluate(trainerModel, data, InputEncoding.DynamicBinarization, new[] { order }).Ensemble;
trainer.Train(15);
double after = LikelihoodEvaluation.Evaluate(trainerModel, data, InputEncoding.DynamicBinarization, new[] { order }).Ensemble;
Check(after < before, $"training lowers the test NLL ({before:F2} -> {after:F2} nats)");
string checkpoint = Path.Combine(Path.GetTempPath(), $"consumer-{Environment.ProcessId}.ckpt");
trainer.Save(checkpoint);
using (var loaded = PixelCnnCheckpoint.LoadModel(checkpoint))
{
    double reloaded = LikelihoodEvaluation.Evaluate(loaded.Model, data, InputEncoding.DynamicBinarization, loaded.Orders!).Ensemble;
    Check(loaded.Format == CheckpointFormat.Training && Math.Abs(reloaded - after) < 1e-4, $"the checkpoint rebuilds the model ({reloaded:F4} nats)");
}
File.Delete(checkpoint);

// The PixelCNN++ baseline through the same trainer, loader and naive sampler (raster order only).
var baseline = new PixelCnnPlusPlus(PixelCnnPlusPlusConfig.BinarizedMnist with { Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1 });
using (var baselineTrainer = PixelCnnTraining.CreateTrainer(baseline, data, data,
    new TrainerOptions { BatchSize = 4, LearningRate = 0.02, Encoding = InputEncoding.DynamicBinarization }))
{
    baselineTrainer.Train(5);
    baselineTrainer.Save(checkpoint);
}
using (var loaded = PixelCnnCheckpoint.LoadModel(checkpoint))
{
    var drawn = new NaiveSampler(loaded.Model).Sample(loaded.Orders![0], 1, new SamplingOptions { Seed = 3 });
    Check(loaded.Kind == ModelKind.PixelCnnPlusPlus && drawn.abs().eq(1).all().item<bool>(), "a baseline checkpoint reloads as PixelCNN++ and samples");
}
File.Delete(checkpoint);

Console.WriteLine(failures == 0 ? "consumer check passed" : $"consumer check: {failures} failure(s)");
return failures == 0 ? 0 : 1;
