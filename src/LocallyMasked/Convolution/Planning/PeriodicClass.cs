using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>One residue class of a <see cref="PeriodicPattern"/>: its phase, kernel box and the box's 0/1 mask.</summary>
/// <param name="RowPhase">Row residue a.</param>
/// <param name="ColPhase">Column residue b.</param>
/// <param name="Box">Kernel rows and columns (inclusive) of the class's taps.</param>
/// <param name="BoxMask">(rows, cols) 0/1 mask of the box.</param>
internal sealed record PeriodicClass(int RowPhase, int ColPhase, (int Row0, int Row1, int Col0, int Col1) Box, Tensor BoxMask)
{
    /// <summary>Number of taps in the box.</summary>
    public int Area => (Box.Row1 - Box.Row0 + 1) * (Box.Col1 - Box.Col0 + 1);
}
