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

    /// <summary>Fashion-MNIST: MNIST's format and file names, modelled like <see cref="Mnist"/> (8-bit grey).</summary>
    FashionMnist,

    /// <summary>A folder of PNG/JPEG/BMP images: 8-bit grey or RGB by their channel count.</summary>
    Images,
}
