using System.CommandLine;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Models;
using LocallyMasked.Sampling;
using LocallyMasked.Checkpoints;
using LocallyMasked.Training;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli;

/// <summary>The `train` command: trains a model, saving checkpoints, then evaluates it and writes samples.</summary>
public static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="common">The shared options.</param>
    public static Command Create(CommonOptions common)
    {
        var steps = new Option<long>("--steps") { Description = "Train until this step.", DefaultValueFactory = _ => 500 };
        var minutes = new Option<double?>("--minutes") { Description = "Wall-clock budget: stop (after a whole step, with a checkpoint) when it is spent." };
        var batch = new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 16 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 2e-3 };
        var decay = new Option<double>("--lr-decay") { Description = "Learning-rate decay (lr *= decay after every step, or every epoch with --lr-decay-per-epoch).", DefaultValueFactory = _ => 0.9995 };
        var decayPerEpoch = new Option<bool>("--lr-decay-per-epoch") { Description = "Apply --lr-decay once per epoch, as the authors' PyTorch loop does, instead of after every step." };
        var beta1 = new Option<double>("--beta1") { Description = "Adam beta1.", DefaultValueFactory = _ => 0.95 };
        var beta2 = new Option<double>("--beta2") { Description = "Adam beta2.", DefaultValueFactory = _ => 0.9995 };
        var clip = new Option<double?>("--clip") { Description = "Clip the global gradient norm to this value." };
        var ema = new Option<double?>("--ema") { Description = "Keep an exponential moving average of the weights with this decay (e.g. 0.999)." };
        var perBatch = new Option<bool>("--per-batch-orders") { Description = "One order per batch instead of one per image." };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate on test images every N steps (0: never).", DefaultValueFactory = _ => 100 };
        var evalImages = new Option<int>("--eval-images") { Description = "Test images for periodic evaluations (0: all).", DefaultValueFactory = _ => 200 };
        var finalImages = new Option<int>("--final-eval-images") { Description = "Test images for the final per-order and ensemble evaluation (0: all).", DefaultValueFactory = _ => 500 };
        var trainImages = new Option<int>("--train-images") { Description = "Use only the first N training images (0: all).", DefaultValueFactory = _ => 0 };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint file to write (default: <output>/model.ckpt)." };
        var every = new Option<int>("--checkpoint-every") { Description = "Save a checkpoint every N steps.", DefaultValueFactory = _ => 50 };
        var resume = new Option<string?>("--resume") { Description = "Continue from this checkpoint (its model and settings are used)." };
        var samples = new Option<int>("--samples") { Description = "Samples to draw after training (0: none).", DefaultValueFactory = _ => 16 };

        var command = new Command("train", "Train a locally masked PixelCNN (default: a small model on the embedded binarized digits).");
        common.AddDataOptions(command);
        common.DataExtras.AddReadOptions(command);
        command.Options.Add(common.DataExtras.Bits);
        common.AddModelOptions(command);
        foreach (var o in new Option[] { steps, minutes, batch, lr, decay, decayPerEpoch, beta1, beta2, clip, ema, perBatch, evalEvery, evalImages, finalImages, trainImages, checkpoint, every, resume, samples })
            command.Options.Add(o);

        command.SetAction(result =>
        {
            var device = common.DeviceOf(result);
            var kind = DataSources.KindOf(result, common);
            string output = result.GetValue(common.Output)!;
            string checkpointPath = result.GetValue(checkpoint) ?? Path.Combine(output, "model.ckpt");
            string? data = DataSources.FolderOf(result, common, kind);   // downloads first with --download
            var train = DataSources.Read(result, common, kind, data, train: true);
            var test = DataSources.Read(result, common, kind, data, train: false);
            if (result.GetValue(trainImages) is > 0 and var limit && limit < train.Count) train = train.Take(limit);
            Console.WriteLine($"data: {train.Count} training and {test.Count} test images of {train.Channels}x{train.Height}x{train.Width} ({train.Name})");

            string? resumePath = result.GetValue(resume);
            PixelCnnConfig config;
            TrainerOptions options;
            IReadOnlyList<Orders.GenerationOrder> orders;
            if (resumePath is not null)
            {
                var metadata = CheckpointMetadata.Read(resumePath);
                config = PixelCnnConfig.FromJson(metadata.ModelConfiguration);
                options = TrainerOptions.FromMetadata(metadata);
                orders = metadata.Orders();
            }
            else
            {
                config = common.ConfigFor(result, kind, train.Channels, train.Height, train.Width);
                orders = OrderNames.Variants(result.GetValue(common.Order)!, train.Height, train.Width, result.GetValue(common.Orders));
                options = new TrainerOptions
                {
                    BatchSize = result.GetValue(batch),
                    LearningRate = result.GetValue(lr),
                    LearningRateDecay = result.GetValue(decay),
                    DecayEvery = result.GetValue(decayPerEpoch) ? LearningRateDecayUnit.Epoch : LearningRateDecayUnit.Step,
                    Beta1 = result.GetValue(beta1),
                    Beta2 = result.GetValue(beta2),
                    MaxGradientNorm = result.GetValue(clip),
                    EmaDecay = result.GetValue(ema),
                    OrderSampling = result.GetValue(perBatch) ? OrderSampling.PerBatch : OrderSampling.PerImage,
                    Encoding = DataSources.Encoding(kind),
                    Seed = result.GetValue(common.Seed),
                    EvaluateEvery = result.GetValue(evalEvery),
                    EvaluationImages = result.GetValue(evalImages),
                };
            }

            using var model = new LocallyMaskedPixelCnn(config, device);
            using var trainer = PixelCnnTraining.CreateTrainer(model, orders, train, test, options);
            if (resumePath is not null)
            {
                trainer.Resume(resumePath);
                Console.WriteLine($"resumed from {resumePath} at step {trainer.Step}");
            }
            long parameterCount = model.parameters().Sum(p => p.numel());
            Console.WriteLine($"model: {config.Filters} filters, {config.ResidualBlocks} blocks/stage, {config.Likelihood}, {parameterCount:N0} parameters, {orders.Count} orders, device {device}");

            using var cancel = new CancellationTokenSource();
            // The time budget stops training like Ctrl+C does, but the run then goes on to evaluate and sample.
            using var budget = new CancellationTokenSource();
            if (result.GetValue(minutes) is { } budgetMinutes) budget.CancelAfter(TimeSpan.FromMinutes(budgetMinutes));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token, budget.Token);
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += onCancel;
            bool bpd = kind != DatasetKind.BinarizedMnist;
            var bar = new ProgressBar(bpd);
            long target = result.GetValue(steps);
            int saveEvery = Math.Max(1, result.GetValue(every));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long firstStep = trainer.Step;
            try
            {
                string? lastGood = resumePath;
                int failures = 0;
                while (trainer.Step < target && !stop.IsCancellationRequested)
                {
                    long next = Math.Min(target, (trainer.Step / saveEvery + 1) * saveEvery);
                    try
                    {
                        trainer.Train(next, new RetargetedProgress(bar, target), stop.Token);
                        trainer.Save(checkpointPath);
                        lastGood = checkpointPath;
                        failures = 0;
                    }
                    catch (System.Runtime.InteropServices.ExternalException e) when (lastGood is not null && ++failures <= 3)
                    {
                        // libtorch errors that do not repeat (TorchSharp 0.107 can free an implicitly created Scalar
                        // while a native call still uses it) are survived by resuming from the last checkpoint:
                        // resumption is exact, so the run continues as if nothing had happened.
                        Console.WriteLine($"\nnative error at step {trainer.Step}: {e.Message.Split('\n')[0]}");
                        Console.WriteLine($"resuming from {lastGood} (attempt {failures} of 3)");
                        trainer.Resume(lastGood);
                    }
                }
                if (budget.IsCancellationRequested) Console.WriteLine($"\nthe {result.GetValue(minutes)} minute budget is spent");
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            long ran = trainer.Step - firstStep;
            Console.WriteLine($"trained {ran} steps in {seconds:F0} s ({(ran > 0 ? seconds / ran : 0):F3} s/step); checkpoint {checkpointPath} at step {trainer.Step}");
            if (cancel.IsCancellationRequested) return 130;

            using (trainer.Average?.Apply())
            {
                var report = LikelihoodEvaluation.Evaluate(model, test, options.Encoding, orders, result.GetValue(finalImages));
                EvaluateCommand.Print(report, bpd);
                int count = result.GetValue(samples);
                if (count > 0)
                {
                    using var images = common.SamplerOf(result, model).Sample(orders[0], count, common.SamplingOf(result, orders[0].PixelCount));
                    string path = Path.Combine(output, "samples.png");
                    PngFile.Write(ImageSheets.Grid(images, scale: 1), path, scale: 3);
                    Console.WriteLine($"samples: {path}");
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>Forwards progress with the run's overall target step (the trainer is called in checkpoint-sized chunks).</summary>
    private sealed class RetargetedProgress(IProgress<TrainingProgress> inner, long target) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => inner.Report(value with { TargetStep = target });
    }
}
