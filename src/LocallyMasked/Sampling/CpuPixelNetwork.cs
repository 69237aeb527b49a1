using System.Numerics;
using System.Runtime.InteropServices;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The per-pixel network on the CPU for float32 and float64: the products are torch matrix products (MKL), everything
/// between them runs as fused loops over the tensors' memory (<see cref="CpuKernels"/>). A block is then two products and
/// three passes: concat_elu written straight into the first convolution's cache rows; bias, normalization, skip term and
/// concat_elu written into the second's; bias, normalization, sigmoid and the residual update. Neighbourhood rows are
/// copied into one preallocated patch buffer. The biases (with the per-step mask terms) are added by the passes rather
/// than by the products.
/// </summary>
/// <typeparam name="T">float or double: the model's dtype.</typeparam>
internal sealed class CpuPixelNetwork<T> : PixelNetwork
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Tensor _patch;
    private readonly Dictionary<long, Tensor> _patchViews = new();
    private readonly Tensor[] _upOutputs;
    private readonly Tensor _skipFeatures;
    private readonly long[] _skipRows;
    private readonly int _filters;
    private readonly double[] _values;
    private readonly double[] _parameters;
    private double[]? _uniforms;
    private Tensor? _skips;

    public CpuPixelNetwork(LocallyMaskedPixelCnn model, StepTables tables) : base(model, tables)
    {
        var config = model.Config;
        var dtype = model.DType;
        _filters = config.Filters;
        // One patch buffer for every convolution, with a view per patch width a step uses.
        var convolutions = AllConvolutions().Append(First).ToArray();
        long largest = convolutions.Max(c => (long)c.Channels * config.KernelSize * config.KernelSize);
        _patch = empty(Batch * largest, dtype);
        foreach (var conv in convolutions)
        {
            foreach (var (_, length) in tables.Ranges[conv.Role].Where(r => r.Length > 0).Distinct())
            {
                long width = (long)length * conv.Channels;
                if (!_patchViews.ContainsKey(width)) _patchViews[width] = _patch.narrow(0, 0, Batch * width).view(Batch, width);
            }
        }
        _upOutputs = model.UpStages.SelectMany(s => s.Blocks).Select(_ => empty(Batch, _filters, dtype)).ToArray();
        long skips = SkipWeights.shape[0];
        _skipFeatures = empty(new long[] { skips, Batch, 2L * _filters }, dtype);
        _skipRows = Enumerable.Range(0, (int)(skips * Batch)).Select(r => (long)r).ToArray();
        _values = new double[Batch * config.ImageChannels];
        _parameters = new double[Batch * config.ParameterChannels];
    }

    /// <summary>The draws on the host (<see cref="PixelLikelihood.SampleRows"/>, float64), written straight into the cache rows.</summary>
    public override void DrawPixels(int step, Tensor parameters, Tensor uniforms, double temperature, PixelLikelihood likelihood, ref long mark)
    {
        int n = (int)Batch, channels = likelihood.ImageChannels, sampled = Tables.SampledCount[step];
        if (sampled > 0)
        {
            var drawn = Parameters(parameters, likelihood.ParameterChannels);
            _uniforms ??= Host(uniforms);
            int perStep = n * likelihood.UniformsPerPixel;
            likelihood.SampleRows(drawn, _uniforms.AsSpan(step * perStep, perStep), temperature, _values.AsSpan(0, n * channels));
        }
        Profile?.Lap(StepPhase.Sample, ref mark, 0);
        var images = Data(Images);
        var observed = sampled < n ? Data(Tables.Observed[step]!) : default;
        var rows = WriteRows();
        for (int i = 0; i < n; i++)
        {
            var target = images.Slice(checked((int)(rows[i] * channels)), channels);
            if (Tables.HostSampled[step * n + i])
            {
                for (int c = 0; c < channels; c++) target[c] = T.CreateTruncating(_values[i * channels + c]);
            }
            else
            {
                observed.Slice(i * channels, channels).CopyTo(target);
            }
        }
        Profile?.Lap(StepPhase.Write, ref mark, 0);
    }

    private protected override Tensor FirstLayer()
    {
        var output = Convolve(First);
        CpuKernels.BiasNormalize(Data(output), _filters, Bias(First), Normalization == FeatureNormalization.Pono,
            Counts(Normalization, MaskRole.Undilated), PositionalNormalization.Epsilon);
        Lap(StepPhase.Elementwise, 0);
        return output;
    }

    private protected override Tensor BlockInput(Block block, Tensor u)
    {
        CpuKernels.ConcatEluRows<T>(Data(u), _filters, Data(block.Input.Cache), WriteRows());
        Lap(StepPhase.Write, 0);
        return Convolve(block.Input);
    }

    private protected override Tensor BlockOutput(Block block, Tensor t, int skip)
    {
        var normalization = block.Module.Normalization;
        var features = Data(t);
        CpuKernels.BiasNormalize(features, _filters, Bias(block.Input), normalization == FeatureNormalization.Pono,
            Counts(normalization, MaskRole.Undilated), PositionalNormalization.Epsilon);
        if (skip >= 0) CpuKernels.Add<T>(features, Data(_skips!).Slice(skip * (int)Batch * _filters, (int)Batch * _filters));
        Lap(StepPhase.Elementwise, 0);
        CpuKernels.ConcatEluRows<T>(features, _filters, Data(block.Output.Cache), WriteRows());
        Lap(StepPhase.Write, 0);
        return Convolve(block.Output);
    }

    private protected override Tensor Gate(Block block, Tensor u, Tensor gate, int upBlock)
    {
        var output = upBlock < 0 ? u : _upOutputs[upBlock];
        var normalization = block.Module.Normalization;
        CpuKernels.Gate(Data(u), Data(gate), Data(output), _filters, Bias(block.Output), normalization == FeatureNormalization.Pono,
            Counts(normalization, MaskRole.Undilated), PositionalNormalization.Epsilon);
        Lap(StepPhase.Elementwise, 0);
        return output;
    }

    private protected override Tensor Resample(PixelConvolution conv, Tensor u)
    {
        CpuKernels.CopyRows<T>(Data(u), _filters, Data(conv.Cache), WriteRows());
        Lap(StepPhase.Write, 0);
        var output = Convolve(conv);
        CpuKernels.BiasNormalize(Data(output), _filters, Bias(conv), Normalization == FeatureNormalization.Pono,
            Counts(Normalization, MaskRole.Dilated), PositionalNormalization.Epsilon);
        Lap(StepPhase.Elementwise, 0);
        return output;
    }

    private protected override void PrepareSkips(Tensor[] inputs)
    {
        var features = Data(_skipFeatures);
        int rows = (int)Batch;
        for (int j = 0; j < inputs.Length; j++)
            CpuKernels.ConcatEluRows<T>(Data(inputs[j]), _filters, features, _skipRows.AsSpan(j * rows, rows));
        Lap(StepPhase.Elementwise, 0);
        _skips = _skipFeatures.bmm(SkipWeights);
        Lap(StepPhase.Product, 1);
        var skips = Data(_skips);
        var bias = Data(SkipBias);
        for (int j = 0; j < inputs.Length; j++)
            for (int i = 0; i < rows; i++)
                CpuKernels.Add<T>(skips.Slice((j * rows + i) * _filters, _filters), bias.Slice(j * _filters, _filters));
        Lap(StepPhase.Elementwise, 0);
    }

    private protected override Tensor OutputLayer(Tensor u)
    {
        CpuKernels.Elu<T>(Data(u));
        Lap(StepPhase.Elementwise, 0);
        var parameters = addmm(OutputBias, u, OutputWeight, 1, 1);
        Lap(StepPhase.Product, 1);
        return parameters;
    }

    /// <summary>The convolution's products at the step's pixels, without bias: gathers the step's tap rows into the patch buffer.</summary>
    private Tensor Convolve(PixelConvolution conv)
    {
        var (start, length) = Tables.Ranges[conv.Role][Step];
        // Every tap hidden (the first layer at the first pixel): only the bias, added by the caller.
        if (length == 0) return zeros(Batch, conv.Module.OutChannels, Model.DType);
        var (rows, offsets) = Tables.HostGatherRows[conv.Role];
        var patch = _patchViews[(long)length * conv.Channels];
        CpuKernels.GatherRows<T>(Data(conv.Cache), conv.Channels, rows.AsSpan((int)offsets[Step], (int)(offsets[Step + 1] - offsets[Step])), Data(patch));
        Lap(StepPhase.Gather, 0);
        var output = patch.mm(conv.Rows(start, length));
        Lap(StepPhase.Product, 1);
        return output;
    }

    private BiasRows<T> Bias(PixelConvolution conv)
    {
        if (conv.Terms is { } terms)
        {
            var all = terms.All;
            return new BiasRows<T>(Data(all), (int)all.shape[1], (int)terms.Offset(conv), all.shape[0] > 1);
        }
        return conv.Bias is { } bias ? new BiasRows<T>(Data(bias), 0, 0, false) : default;
    }

    private ReadOnlySpan<double> Counts(FeatureNormalization normalization, MaskRole role)
    {
        if (normalization != FeatureNormalization.OrderRescale) return default;
        var counts = Tables.HostVisibleTaps[role];
        int perStep = counts.Length / Tables.Steps;
        return counts.AsSpan(Step * perStep, perStep);
    }

    private ReadOnlySpan<long> WriteRows() => Tables.HostWriteRows.AsSpan(Step * (int)Batch, (int)Batch);

    /// <summary>The distribution parameters (N, M) as float64 on the host.</summary>
    private ReadOnlySpan<double> Parameters(Tensor parameters, int channels)
    {
        var values = Data(parameters);
        if (typeof(T) == typeof(double)) return MemoryMarshal.Cast<T, double>(values);
        var converted = _parameters.AsSpan(0, (int)Batch * channels);
        for (int i = 0; i < converted.Length; i++) converted[i] = double.CreateTruncating(values[i]);
        return converted;
    }

    /// <summary>All steps' uniforms (steps, N, U) as float64 on the host, read once per call.</summary>
    private static double[] Host(Tensor uniforms)
    {
        using var wide = uniforms.to(ScalarType.Float64);
        return wide.data<double>().ToArray();
    }

    /// <summary>A contiguous CPU tensor's elements.</summary>
    private static Span<T> Data(Tensor tensor) => MemoryMarshal.Cast<byte, T>(tensor.bytes);
}
