using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// A small CNN that labels binarized 28x28 digits (two 3x3 conv + max-pool stages, one hidden layer), trained on the
/// embedded training digits binarized the way the samples are. It judges generated digits: a sample "looks like a digit"
/// when the classifier gives one class a probability of at least 0.9.
/// </summary>
internal sealed class DigitClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d _conv1 = nn.Conv2d(1, 32, 3, padding: 1);
    private readonly Conv2d _conv2 = nn.Conv2d(32, 64, 3, padding: 1);
    private readonly Linear _hidden = nn.Linear(64 * 7 * 7, 128);
    private readonly Linear _output = nn.Linear(128, 10);
    private readonly Dropout _dropout = nn.Dropout(0.3);

    public DigitClassifier() : base(nameof(DigitClassifier)) => RegisterComponents();

    /// <summary>Class logits (N, 10) of binarized digits (N, 1, 28, 28) in {-1, +1}.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.max_pool2d(nn.functional.relu(_conv1.forward(x)), 2);
        h = nn.functional.max_pool2d(nn.functional.relu(_conv2.forward(h)), 2);
        h = _dropout.forward(nn.functional.relu(_hidden.forward(h.flatten(1))));
        return _output.forward(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Trains a classifier on binarized digits (one fixed binarization per image and epoch, drawn from <paramref name="seed"/>).
    /// </summary>
    /// <param name="train">The training digits (bytes).</param>
    /// <param name="epochs">Passes over the training digits.</param>
    /// <param name="seed">Seed of the initialisation, the shuffling and the binarization.</param>
    public static DigitClassifier Train(ImageDataset train, int epochs, long seed)
    {
        torch.manual_seed(seed);
        var model = new DigitClassifier();
        using var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
        using var generator = new Generator((ulong)seed);
        const int batch = 64;
        model.train();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var permutation = randperm(train.Count, generator: generator).data<long>().ToArray();
            for (int start = 0; start + batch <= train.Count; start += batch)
            {
                using var scope = NewDisposeScope();
                var indices = permutation.Skip(start).Take(batch).Select(i => (int)i).ToArray();
                var x = Binarize(train, indices, generator);
                var labels = train.Labels(indices);
                var loss = nn.functional.cross_entropy(model.forward(x), labels);
                optimizer.zero_grad();
                loss.backward();
                AdamUpdate.Apply(optimizer);
            }
        }
        model.eval();
        return model;
    }

    /// <summary>Binarized digits in {-1, +1}: pixel on with probability intensity / 255 (dynamic binarization).</summary>
    public static Tensor Binarize(ImageDataset data, IReadOnlyList<int> indices, Generator generator)
    {
        using var scope = NewDisposeScope();
        var bytes = data.Bytes(indices);
        var uniforms = rand(bytes.shape, generator: generator);
        return PixelScaling.Binarize(bytes, uniforms).MoveToOuterDisposeScope();
    }

    /// <summary>Per image: the predicted class and its probability.</summary>
    /// <param name="x">Binarized digits (N, 1, 28, 28) in {-1, +1}, float32 on the CPU.</param>
    public (long[] Labels, double[] Confidence) Classify(Tensor x)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var probabilities = nn.functional.softmax(forward(x.to(ScalarType.Float32).cpu()), 1);
        var (values, labels) = probabilities.max(1);
        return (labels.data<long>().ToArray(), values.to(ScalarType.Float64).data<double>().ToArray());
    }
}
