using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// The 10,000 real MNIST digits embedded in the program (8,000 train, 2,000 test; data/mnist-subset), used when no
/// --data folder is given. They live in the program rather than the library so that the library stays small.
/// </summary>
public static class EmbeddedDigits
{
    /// <summary>Reads the training (8,000) or test (2,000) digits.</summary>
    /// <param name="train">True for the training split.</param>
    public static ImageDataset Read(bool train)
    {
        string split = train ? "train" : "test";
        using var images = Open($"{split}-images-idx3-ubyte.gz");
        using var labels = Open($"{split}-labels-idx1-ubyte.gz");
        return IdxReader.Read(images, $"embedded {split}-images-idx3-ubyte.gz", labels, $"embedded {split}-labels-idx1-ubyte.gz");
    }

    private static Stream Open(string name) =>
        typeof(EmbeddedDigits).Assembly.GetManifestResourceStream("mnist-subset/" + name)
        ?? throw new InvalidOperationException($"The embedded resource mnist-subset/{name} is missing from the program.");
}
