using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// One stage of the PixelCNN++ up pass (the authors' <c>PixelCNNLayer_up</c>; keys <c>u_stream.{i}.*</c> and
/// <c>ul_stream.{i}.*</c>): R blocks per stream. Block i of the u stream takes the previous u; block i of the ul
/// stream takes the previous ul and, as its skip input, the new u. Every output is kept for the down pass.
/// </summary>
public sealed class ShiftedUpPassStage : nn.Module<Tensor, Tensor, (IReadOnlyList<Tensor> U, IReadOnlyList<Tensor> UL)>
{
    [ComponentName(Name = "u_stream")]
    private readonly ModuleList<ShiftedGatedResidualBlock> _uStream;

    [ComponentName(Name = "ul_stream")]
    private readonly ModuleList<ShiftedGatedResidualBlock> _ulStream;

    /// <summary>Creates the stage.</summary>
    /// <param name="filters">Channels of both streams (F).</param>
    /// <param name="blocks">Blocks per stream (R &gt;= 1).</param>
    /// <param name="dropout">Channel dropout probability of every block in training mode, in [0, 1).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public ShiftedUpPassStage(int filters, int blocks, double dropout, Device? device = null, ScalarType? dtype = null)
        : base(nameof(ShiftedUpPassStage))
    {
        if (blocks < 1) throw new ArgumentOutOfRangeException(nameof(blocks), blocks, "Expected at least one block.");
        _uStream = new ModuleList<ShiftedGatedResidualBlock>(Enumerable.Range(0, blocks)
            .Select(_ => new ShiftedGatedResidualBlock(filters, ShiftedStream.Above, 0, dropout, device, dtype)).ToArray());
        _ulStream = new ModuleList<ShiftedGatedResidualBlock>(Enumerable.Range(0, blocks)
            .Select(_ => new ShiftedGatedResidualBlock(filters, ShiftedStream.AboveAndLeft, filters, dropout, device, dtype)).ToArray());
        RegisterComponents();
    }

    /// <summary>Blocks per stream.</summary>
    public int BlockCount => _uStream.Count;

    /// <summary>Applies the blocks of both streams in turn.</summary>
    /// <param name="u">u stream input (N, F, H, W).</param>
    /// <param name="ul">ul stream input (N, F, H, W).</param>
    /// <returns>The outputs of every block of each stream, in order (the last ones are the stage outputs).</returns>
    public override (IReadOnlyList<Tensor> U, IReadOnlyList<Tensor> UL) forward(Tensor u, Tensor ul) => Forward(u, ul, null, ComputePrecision.Float32);

    /// <summary><see cref="forward"/> with the generator the blocks' dropout draws from (null: torch's global generator)
    /// and the precision of their products.</summary>
    internal (IReadOnlyList<Tensor> U, IReadOnlyList<Tensor> UL) Forward(Tensor u, Tensor ul, Generator? dropout, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(u);
        ArgumentNullException.ThrowIfNull(ul);
        var uOutputs = new List<Tensor>(_uStream.Count);
        var ulOutputs = new List<Tensor>(_ulStream.Count);
        for (int i = 0; i < _uStream.Count; i++)
        {
            u = _uStream[i].Forward(u, null, dropout, precision);
            ul = _ulStream[i].Forward(ul, u, dropout, precision);
            uOutputs.Add(u);
            ulOutputs.Add(ul);
        }
        return (uOutputs, ulOutputs);
    }
}
