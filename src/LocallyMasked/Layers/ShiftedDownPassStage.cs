using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// One stage of the PixelCNN++ down pass (the authors' <c>PixelCNNLayer_down</c>; keys <c>u_stream.{i}.*</c> and
/// <c>ul_stream.{i}.*</c>). Each u block pops its skip input from the u stack (1x1 layer from 2F); each ul block
/// pops one entry from the ul stack and takes the new u concatenated with it, [u, popped] (1x1 layer from 4F).
/// </summary>
public sealed class ShiftedDownPassStage : nn.Module<Tensor, Tensor, Stack<Tensor>, Stack<Tensor>, (Tensor U, Tensor UL)>
{
    [ComponentName(Name = "u_stream")]
    private readonly ModuleList<ShiftedGatedResidualBlock> _uStream;

    [ComponentName(Name = "ul_stream")]
    private readonly ModuleList<ShiftedGatedResidualBlock> _ulStream;

    /// <summary>Creates the stage.</summary>
    /// <param name="filters">Channels of both streams (F).</param>
    /// <param name="blocks">Blocks per stream (&gt;= 1); PixelCNN++ uses R, R + 1, R + 1 for its three stages.</param>
    /// <param name="dropout">Channel dropout probability of every block in training mode, in [0, 1).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public ShiftedDownPassStage(int filters, int blocks, double dropout, Device? device = null, ScalarType? dtype = null)
        : base(nameof(ShiftedDownPassStage))
    {
        if (blocks < 1) throw new ArgumentOutOfRangeException(nameof(blocks), blocks, "Expected at least one block.");
        _uStream = new ModuleList<ShiftedGatedResidualBlock>(Enumerable.Range(0, blocks)
            .Select(_ => new ShiftedGatedResidualBlock(filters, ShiftedStream.Above, filters, dropout, device, dtype)).ToArray());
        _ulStream = new ModuleList<ShiftedGatedResidualBlock>(Enumerable.Range(0, blocks)
            .Select(_ => new ShiftedGatedResidualBlock(filters, ShiftedStream.AboveAndLeft, 2 * filters, dropout, device, dtype)).ToArray());
        RegisterComponents();
    }

    /// <summary>Blocks per stream (skip inputs popped from each stack).</summary>
    public int BlockCount => _uStream.Count;

    /// <summary>Applies the blocks of both streams in turn, popping one skip input per block from each stack.</summary>
    /// <param name="u">u stream input (N, F, H, W).</param>
    /// <param name="ul">ul stream input (N, F, H, W).</param>
    /// <param name="uSkips">The up pass's u outputs; the most recent is popped first.</param>
    /// <param name="ulSkips">The up pass's ul outputs; the most recent is popped first.</param>
    /// <returns>The stage outputs of both streams.</returns>
    public override (Tensor U, Tensor UL) forward(Tensor u, Tensor ul, Stack<Tensor> uSkips, Stack<Tensor> ulSkips) =>
        Forward(u, ul, uSkips, ulSkips, null, ComputePrecision.Float32);

    /// <summary><see cref="forward"/> with the generator the blocks' dropout draws from (null: torch's global generator)
    /// and the precision of their products.</summary>
    internal (Tensor U, Tensor UL) Forward(Tensor u, Tensor ul, Stack<Tensor> uSkips, Stack<Tensor> ulSkips, Generator? dropout, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(u);
        ArgumentNullException.ThrowIfNull(ul);
        ArgumentNullException.ThrowIfNull(uSkips);
        ArgumentNullException.ThrowIfNull(ulSkips);
        if (uSkips.Count < BlockCount || ulSkips.Count < BlockCount)
            throw new ArgumentException($"The stage pops {BlockCount} skip inputs per stream; the stacks hold {uSkips.Count} and {ulSkips.Count}.");
        for (int i = 0; i < _uStream.Count; i++)
        {
            u = _uStream[i].Forward(u, uSkips.Pop(), dropout, precision);
            ul = _ulStream[i].Forward(ul, cat(new[] { u, ulSkips.Pop() }, 1), dropout, precision);
        }
        return (u, ul);
    }
}
