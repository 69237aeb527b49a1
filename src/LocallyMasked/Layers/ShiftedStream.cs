namespace LocallyMasked.Layers;

/// <summary>The two feature streams of PixelCNN++ and the shifted convolution each one uses.</summary>
public enum ShiftedStream
{
    /// <summary>The "u" stream: features of the rows above, through <see cref="DownShiftedConv2d"/> (kernel 2 x 3).</summary>
    Above = 0,

    /// <summary>The "ul" stream: features of the rows above and the pixels to the left, through <see cref="DownRightShiftedConv2d"/> (kernel 2 x 2).</summary>
    AboveAndLeft = 1,
}
