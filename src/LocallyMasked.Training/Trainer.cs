using System.Diagnostics;
using LocallyMasked.Checkpoints;
using LocallyMasked.Training.Runtime;
using LocallyMasked.Training.Data;
using LocallyMasked.Training.Evaluation;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace LocallyMasked.Training;

/// <summary>
/// Trains a density model with Adam, exponential learning-rate decay per step or per epoch, optional gradient-norm clipping and an
/// optional moving average of the weights, drawing an order per image or per batch from an order set.
/// Every random choice (shuffling, orders, binarization, dropout: a generator per step and shard passed to the objective;
/// torch's CPU generator too, seeded per step and put back afterwards) is a function of the seed and the step number, so
/// a run resumed from a checkpoint makes exactly the choices the uninterrupted run would have made.
/// A step whose loss or gradient is not finite throws <see cref="TrainingDivergedException"/> before the update, so the
/// model, the optimizer and the average keep the state of the last good step.
/// One dispose scope per step: tensors made by a step die with it.
/// Several processes train one model together through an <see cref="IDataParallelGroup"/>: each computes its slice of
/// every batch, and the group's sums make every process's update the one of the whole batch (Trainer.DataParallel.cs).
/// </summary>
public sealed partial class Trainer : IDisposable
{
    private const int RunningWindow = 50;

    private readonly Module model;
    private readonly NegativeLogLikelihood objective;
    private readonly ImageDataset train;
    private readonly ImageDataset? test;
    private readonly TorchSharp.Modules.Adam optimizer;
    private readonly IReadOnlyList<TorchSharp.Modules.Parameter> parameters;
    private readonly WeightAverage? average;
    private readonly ShardWorkers? workers;
    private readonly IDataParallelGroup group;
    private readonly Queue<double> recent = new();
    private readonly Device device;
    private readonly string modelType;
    private readonly ScalarType dtype;
    private int[]? permutation;
    private long permutationEpoch = -1;

    /// <summary>Creates a trainer for a model that is already on its device.</summary>
    /// <param name="model">The model (its parameters are optimized).</param>
    /// <param name="objective">Per-image negative log-likelihood of a batch under given orders.</param>
    /// <param name="orders">The order set to draw from (at least one; all of the images' size).</param>
    /// <param name="train">Training images.</param>
    /// <param name="test">Test images for periodic evaluation, or null.</param>
    /// <param name="options">Settings.</param>
    /// <param name="modelConfiguration">The model's configuration as JSON, stored in checkpoints so that the model can be rebuilt.</param>
    /// <param name="modelType">The model's type as checkpoints record it (<c>ModelDefinition.TypeName</c> of the model catalog); null
    /// records the module's .NET type name.</param>
    /// <param name="group">The processes that train this model together (each computes its slice of every batch); null or
    /// <see cref="SingleProcessGroup.Instance"/>: this process alone. With several processes the constructor is a
    /// collective: it checks that every process has the same settings, orders, model and data, and gives every process
    /// process 0's weights.</param>
    /// <exception cref="ArgumentException">A setting is out of range, the data do not fit, or (with a group) the processes
    /// disagree or the batch has fewer images than the group has shards.</exception>
    public Trainer(
        Module model,
        NegativeLogLikelihood objective,
        IReadOnlyList<GenerationOrder> orders,
        ImageDataset train,
        ImageDataset? test,
        TrainerOptions options,
        string modelConfiguration = "",
        string? modelType = null,
        IDataParallelGroup? group = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        OrderArguments.Check(orders, nameof(orders), train.Height, train.Width, "the training images");
        if (train.Count < options.BatchSize)
            throw new ArgumentException($"Expected at least one batch of {options.BatchSize} training images, got {train.Count}.", nameof(train));
        if (test is not null && (test.Channels != train.Channels || test.Height != train.Height || test.Width != train.Width))
            throw new ArgumentException("Expected test images of the same shape as the training images.", nameof(test));
        this.model = model;
        this.objective = objective;
        this.train = train;
        this.test = test;
        Orders = orders.ToArray();
        Options = options;
        ModelConfiguration = modelConfiguration ?? string.Empty;
        this.modelType = modelType ?? model.GetType().FullName ?? model.GetName();
        parameters = model.parameters().ToArray();
        if (parameters.Count == 0) throw new ArgumentException("Expected a model with parameters.", nameof(model));
        device = parameters[0].device;
        dtype = parameters[0].dtype;
        options.Precision.CheckParameters(dtype, nameof(options));
        this.group = group ?? SingleProcessGroup.Instance;
        if (this.group.Size > 1) JoinGroup();
        optimizer = optim.Adam(parameters, lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2);
        if (options.EmaDecay is { } decay) average = new WeightAverage(model, decay);
        if (options.Workers > 1) workers = new ShardWorkers(options.Workers, Math.Max(1, get_num_threads() / options.Workers));
    }

    /// <summary>The settings.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The order set.</summary>
    public IReadOnlyList<GenerationOrder> Orders { get; }

    /// <summary>The model configuration JSON stored in checkpoints.</summary>
    public string ModelConfiguration { get; }

    /// <summary>Steps completed (including those before a resume).</summary>
    public long Step { get; private set; }

    /// <summary>The moving average of the weights, when enabled.</summary>
    public WeightAverage? Average => average;

    /// <summary>The threads that compute the shards of a batch (<see cref="TrainerOptions.Workers"/> above 1), else null.</summary>
    internal ShardWorkers? Workers => workers;

    /// <summary>The optimizer (tests read its state).</summary>
    internal TorchSharp.Modules.Adam Optimizer => optimizer;

    /// <summary>
    /// The learning rate used by step <paramref name="step"/>: lr * decay^step, or lr * decay^epoch with
    /// <see cref="LearningRateDecayUnit.Epoch"/> (an epoch being <see cref="StepsPerEpoch"/> steps).
    /// </summary>
    /// <param name="step">A step number.</param>
    public double LearningRateAt(long step) =>
        Options.LearningRate * Math.Pow(Options.LearningRateDecay, Options.DecayEvery == LearningRateDecayUnit.Epoch ? step / StepsPerEpoch : step);

    /// <summary>Whole batches per pass over the training images (a last partial batch is dropped).</summary>
    public int StepsPerEpoch => train.Count / Options.BatchSize;

    /// <summary>The images a step trains on (their indices into the training set).</summary>
    /// <param name="step">A step number.</param>
    public int[] BatchIndices(long step)
    {
        // Whole batches only: the last partial batch of each epoch is dropped, as the authors' loader does.
        int perEpoch = StepsPerEpoch;
        long epoch = step / perEpoch;
        int batch = (int)(step % perEpoch);
        if (epoch != permutationEpoch)
        {
            permutation = new SeededRandom(TrainingDraws.Mix(Options.Seed, (ulong)epoch, 0x5EED_0001)).Permutation(train.Count);
            permutationEpoch = epoch;
        }
        return permutation!.AsSpan(batch * Options.BatchSize, Options.BatchSize).ToArray();
    }

    /// <summary>Runs one training step and returns its loss (mean negative log-likelihood, nats per image).</summary>
    /// <exception cref="TrainingDivergedException">The loss or the gradient is NaN or infinite; nothing was updated.</exception>
    public double TrainStep() => TrainStep(stopRequested: false);

    /// <summary>One training step; in a group, the processes also learn whether any asks to stop after it (<see cref="stopAgreed"/>).</summary>
    private double TrainStep(bool stopRequested)
    {
        long step = Step;
        var indices = BatchIndices(step);
        var random = new SeededRandom(TrainingDraws.Mix(Options.Seed, (ulong)step, 0x5EED_0002));
        double loss;
        using (var scope = NewDisposeScope())
        {
            // For objectives that draw from torch's CPU generator: seeded per step, so that a resumed run draws what the
            // uninterrupted one drew; the caller's generator state is put back afterwards.
            using var cpuGenerator = torch.Generator.Default;
            var callerRandomState = cpuGenerator.get_state();
            torch.random.manual_seed(unchecked((long)TrainingDraws.Mix(Options.Seed, (ulong)step, 0x5EED_0004)));
            try
            {
                model.train();
                var inputs = Encode(train, indices, random);
                var orders = TrainingDraws.Orders(Orders, Options.OrderSampling, indices.Length, random);
                if (group.Size > 1)
                {
                    loss = DataParallelBackward(inputs, orders, step, indices, stopRequested);
                }
                else if (workers is null)
                {
                    using var dropout = TrainingDraws.Dropout(Options.Seed, step, 0);
                    var losses = CheckedLosses(objective(inputs, orders, dropout), indices.Length);
                    var mean = losses.mean();
                    loss = mean.ToDouble();
                    if (!double.IsFinite(loss))
                        throw new TrainingDivergedException(step, loss, "loss", DivergenceDiagnosis.FirstNonFinite(model, inputs, losses, indices));
                    optimizer.zero_grad();
                    mean.backward();
                }
                else
                {
                    loss = ShardedBackward(inputs, orders, step, indices);
                }
                double norm = Options.MaxGradientNorm is { } maxNorm
                    ? nn.utils.clip_grad_norm_(parameters, maxNorm)
                    : GradientNorm();
                if (!double.IsFinite(norm))
                    throw new TrainingDivergedException(step, norm, "gradient norm", DivergenceDiagnosis.FirstNonFinite(model, inputs, null, indices));
                foreach (var group in optimizer.ParamGroups) group.LearningRate = LearningRateAt(step);
                AdamUpdate.Apply(optimizer);
            }
            finally
            {
                cpuGenerator.set_state(callerRandomState);
            }
        }
        average?.Update();
        Step = step + 1;
        return loss;
    }

    /// <summary>
    /// Trains until <see cref="Step"/> reaches <paramref name="targetStep"/>, reporting after every step and running
    /// periodic test evaluations; stops early (after a whole step) when <paramref name="cancellation"/> fires, and then sets
    /// <see cref="Stopped"/>. In a group of several processes a request on any process stops every process after the same
    /// step: the one during which some process saw its request (the processes agree in every step).
    /// </summary>
    /// <param name="targetStep">The step to stop at.</param>
    /// <param name="progress">Receives a report after every step, or null.</param>
    /// <param name="cancellation">Stops training between steps.</param>
    /// <returns>The losses of the steps run.</returns>
    public IReadOnlyList<double> Train(long targetStep, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        var losses = new List<double>();
        var clock = Stopwatch.StartNew();
        double dims = train.ImageSize * Math.Log(2);
        Stopped = false;
        while (Step < targetStep)
        {
            bool requested = cancellation.IsCancellationRequested;
            if (requested && group.Size == 1)
            {
                Stopped = true;
                break;
            }
            double lr = LearningRateAt(Step);
            double loss = TrainStep(requested);
            losses.Add(loss);
            recent.Enqueue(loss);
            if (recent.Count > RunningWindow) recent.Dequeue();
            double? testLoss = null;
            // Evaluated in batches of the training batch size: without gradients they need less memory than a training
            // step, so the periodic evaluation does not raise the process's peak footprint.
            if (Options.EvaluateEvery > 0 && test is not null && Step % Options.EvaluateEvery == 0)
                testLoss = EvaluateTest(Options.EvaluationImages, Options.BatchSize);
            double running = recent.Average();
            progress?.Report(new TrainingProgress(Step, targetStep, loss, running, running / dims, lr,
                clock.Elapsed.TotalSeconds / losses.Count, testLoss));
            if (stopAgreed)
            {
                Stopped = true;
                break;
            }
        }
        return losses;
    }

    /// <summary>
    /// Mean test negative log-likelihood (nats per image) under the first order of the set, on the first
    /// <paramref name="images"/> test images (0: all), with the averaged weights when the average is enabled.
    /// </summary>
    /// <param name="images">How many test images.</param>
    /// <param name="batchSize">Images per forward pass.</param>
    public double EvaluateTest(int images = 0, int batchSize = 100)
    {
        if (test is null) throw new InvalidOperationException("This trainer has no test set.");
        using var weights = average?.Apply();
        PerOrderLogLikelihoods perOrder = (x, orders) => stack(orders.Select(o => objective(x, new[] { o }, null).neg()).ToArray(), 1);
        return LikelihoodEvaluation.Evaluate(model, OnWorkers(perOrder), test, Options.Encoding, new[] { Orders[0] }, Options.Bits, images, batchSize).PerOrder[0];
    }

    /// <summary>
    /// The model inputs for evaluating images: scaled bytes, or for binarized data one fixed binarization per image
    /// (seeded by the image index, so every evaluation sees the same binary images).
    /// </summary>
    /// <param name="data">The images.</param>
    /// <param name="indices">Which images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="device">Target device.</param>
    /// <param name="dtype">Target dtype.</param>
    /// <param name="bits">The model's bit depth for signed inputs.</param>
    public static Tensor EncodeFixed(ImageDataset data, IReadOnlyList<int> indices, InputEncoding encoding, Device device, ScalarType dtype, int bits = 8)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(indices);
        using var scope = NewDisposeScope();
        var bytes = data.Bytes(indices, device);
        if (encoding == InputEncoding.Signed) return PixelScaling.ToSigned(bytes, dtype, bits).MoveToOuterDisposeScope();
        var uniforms = new float[indices.Count * data.ImageSize];
        for (int i = 0; i < indices.Count; i++)
            new SeededRandom(TrainingDraws.Mix(0xB1A5, (ulong)indices[i], 0x5EED_0003)).FillUniform(uniforms.AsSpan(i * data.ImageSize, data.ImageSize));
        var u = tensor(uniforms, bytes.shape).to(device);
        return PixelScaling.Binarize(bytes, u, dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Frees the optimizer and the moving average, and stops the shard workers.</summary>
    public void Dispose()
    {
        workers?.Dispose();
        average?.Dispose();
        optimizer.Dispose();
    }

    /// <summary>
    /// The given log-likelihood function computed in shards of each batch on this trainer's worker threads, without
    /// gradients (the function itself when <see cref="TrainerOptions.Workers"/> is 1): as fast as the training steps,
    /// and in the memory the workers already hold (on the calling thread an evaluation grows a heap of its own, which
    /// glibc keeps). In a group of several processes each process computes its shards of every batch and the group gathers
    /// them, so every process gets the whole batch's values (a collective: every process calls the function with the same
    /// batches). The periodic evaluations use it; pass it to <see cref="LikelihoodEvaluation.Evaluate(IAutoregressiveImageModel, ImageDataset, InputEncoding, IReadOnlyList{GenerationOrder}, int, int, IProgress{int}?, Func{PerOrderLogLikelihoods, PerOrderLogLikelihoods}?)"/>
    /// for a final evaluation. Use it while this trainer is alive, from one thread at a time.
    /// </summary>
    /// <param name="perOrder">The model's log-likelihoods of a batch under some orders.</param>
    public PerOrderLogLikelihoods OnWorkers(PerOrderLogLikelihoods perOrder) =>
        group.Size > 1 ? AcrossGroup(perOrder) : workers is null ? perOrder : EvaluationWorkers.InShards(workers, perOrder);

    /// <summary>The objective's per-image losses, checked to be one per image.</summary>
    private static Tensor CheckedLosses(Tensor nll, int images)
    {
        if (nll.dim() != 1 || nll.shape[0] != images)
            throw new InvalidOperationException($"The objective returned shape [{string.Join(", ", nll.shape)}]; expected [{images}].");
        return nll;
    }

    /// <summary>The global L2 norm of the parameters' gradients (what clipping would compare with its limit).</summary>
    private double GradientNorm()
    {
        using var scope = NewDisposeScope();
        var squares = parameters.Where(p => p.grad is not null).Select(p => p.grad!.Squared().sum()).ToArray();
        return squares.Length == 0 ? 0 : stack(squares).sum().sqrt().ToDouble();
    }

    private Tensor Encode(ImageDataset data, int[] indices, SeededRandom random)
    {
        var bytes = data.Bytes(indices, device);
        if (Options.Encoding == InputEncoding.Signed) return PixelScaling.ToSigned(bytes, dtype, Options.Bits);
        var uniforms = new float[indices.Length * data.ImageSize];
        random.FillUniform(uniforms);
        return PixelScaling.Binarize(bytes, tensor(uniforms, bytes.shape).to(device), dtype);
    }
}
