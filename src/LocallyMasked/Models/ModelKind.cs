namespace LocallyMasked.Models;

/// <summary>The autoregressive image models of the library (what a checkpoint holds, what <c>lmconv train --model</c> builds).</summary>
public enum ModelKind
{
    /// <summary>The Locally Masked PixelCNN++ (<see cref="Models.LocallyMaskedPixelCnn"/>): any generation order, order ensembles. The program calls it <c>lmconv</c>.</summary>
    LocallyMaskedPixelCnn,

    /// <summary>The PixelCNN++ baseline (<see cref="Models.PixelCnnPlusPlus"/>): raster order only. The program calls it <c>pixelcnn++</c>.</summary>
    PixelCnnPlusPlus,
}
