namespace LocallyMasked.Cli;

/// <summary>The data sets the program reads.</summary>
public enum DatasetKind
{
    /// <summary>MNIST digits modelled as 8-bit grey images (logistic mixture).</summary>
    Mnist,

    /// <summary>MNIST digits dynamically binarized (two-class likelihood, nats per image).</summary>
    BinarizedMnist,

    /// <summary>CIFAR-10 (binary batches), 8-bit RGB.</summary>
    Cifar10,
}
