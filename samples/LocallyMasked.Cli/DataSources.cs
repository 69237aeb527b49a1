using LocallyMasked.Training.Data;
using LocallyMasked.Training;

namespace LocallyMasked.Cli;

/// <summary>Finds the images a command works on: the embedded digits, or files under --data.</summary>
public static class DataSources
{
    /// <summary>Parses a --dataset value.</summary>
    /// <param name="name">mnist, binarized-mnist or cifar10.</param>
    public static DatasetKind Parse(string name) => name switch
    {
        "mnist" => DatasetKind.Mnist,
        "binarized-mnist" => DatasetKind.BinarizedMnist,
        "cifar10" => DatasetKind.Cifar10,
        _ => throw new ArgumentException($"Unknown data set '{name}'; expected mnist, binarized-mnist or cifar10.", nameof(name)),
    };

    /// <summary>The accepted --dataset values.</summary>
    public static string[] Names { get; } = { "mnist", "binarized-mnist", "cifar10" };

    /// <summary>How a data set's bytes become model inputs.</summary>
    /// <param name="kind">The data set.</param>
    public static InputEncoding Encoding(DatasetKind kind) =>
        kind == DatasetKind.BinarizedMnist ? InputEncoding.DynamicBinarization : InputEncoding.Signed;

    /// <summary>Reads a split: from <paramref name="folder"/> when given, else the embedded digits (MNIST only).</summary>
    /// <param name="kind">The data set.</param>
    /// <param name="folder">The --data folder, or null.</param>
    /// <param name="train">True for the training split.</param>
    public static ImageDataset Read(DatasetKind kind, string? folder, bool train)
    {
        if (kind == DatasetKind.Cifar10)
        {
            if (string.IsNullOrEmpty(folder))
                throw new ArgumentException("CIFAR-10 is not embedded: pass --data with the folder of data_batch_1.bin .. test_batch.bin.");
            return Cifar10Reader.ReadDirectory(folder, train);
        }
        return string.IsNullOrEmpty(folder) ? EmbeddedDigits.Read(train) : IdxReader.ReadDirectory(folder, train);
    }
}
