using LocallyMasked.Training.Data;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Data;

public class ImageDatasetSourcesTests
{
    [Fact]
    public void FromTensorKeepsTheLayoutAndTheValues()
    {
        using var images = arange(2 * 3 * 4 * 5, ScalarType.Int64).remainder(256).reshape(2, 3, 4, 5);

        var set = ImageDataset.FromTensor(images, new byte[] { 4, 7 }, "mine");

        (set.Count, set.Channels, set.Height, set.Width, set.Name).Should().Be((2, 3, 4, 5, "mine"));
        set.Label(1).Should().Be(7);
        using var back = set.Bytes(new[] { 0, 1 });
        back.to_type(ScalarType.Int64).equal(images).all().item<bool>().Should().BeTrue();
        ImageDataset.FromTensor(images.to_type(ScalarType.Byte)).Label(0).Should().Be(0, "labels default to zero");
    }

    [Fact]
    public void FromTensorRejectsWrongShapesTypesAndValues()
    {
        var threeDims = () => ImageDataset.FromTensor(zeros(2, 4, 5, ScalarType.Byte));
        threeDims.Should().Throw<ArgumentException>().WithMessage("*(N, C, H, W)*[2, 4, 5]*");
        var floats = () => ImageDataset.FromTensor(rand(1, 1, 2, 2));
        floats.Should().Throw<ArgumentException>().WithMessage("*Float32*PixelScaling.ToBytes*");
        var large = () => ImageDataset.FromTensor(full(1, 1, 2, 2, 256, ScalarType.Int32));
        large.Should().Throw<ArgumentException>().WithMessage("*0..255, found 256..256*");
        var negative = () => ImageDataset.FromTensor(full(1, 1, 2, 2, -1, ScalarType.Int16));
        negative.Should().Throw<ArgumentException>().WithMessage("*found -1..-1*");
        var empty = () => ImageDataset.FromTensor(zeros(0, 1, 2, 2, ScalarType.Byte));
        empty.Should().Throw<ArgumentException>().WithMessage("*at least one image*");
        var labels = () => ImageDataset.FromTensor(zeros(2, 1, 2, 2, ScalarType.Byte), new byte[] { 1 });
        labels.Should().Throw<ArgumentException>().WithMessage("*1 labels for 2 images*");
    }

    [Fact]
    public void FromImagesTakesOneByteArrayPerImage()
    {
        var set = ImageDataset.FromImages(new[] { new byte[] { 1, 2, 3, 4, 5, 6 }, new byte[] { 7, 8, 9, 10, 11, 12 } }, 3, 1, 2);

        (set.Count, set.Channels, set.Height, set.Width).Should().Be((2, 3, 1, 2));
        using var bytes = set.Bytes(new[] { 1 });
        bytes[0, 2, 0, 1].item<byte>().Should().Be(12);

        var wrong = () => ImageDataset.FromImages(new[] { new byte[6], new byte[5] }, 3, 1, 2);
        wrong.Should().Throw<ArgumentException>().WithMessage("*image 1 has 5 bytes; a 3x1x2 image (C, H, W) has 6*");
        var none = () => ImageDataset.FromImages(Array.Empty<byte[]>(), 1, 1, 1);
        none.Should().Throw<ArgumentException>().WithMessage("*at least one image*");
    }
}
