using System.Collections;
using LocallyMasked.Layers;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Reading and writing the library's models (<see cref="LocallyMaskedPixelCnn"/> and the PixelCNN++ baseline
/// <see cref="PixelCnnPlusPlus"/>, both through <see cref="IAutoregressiveImageModel"/>): <see cref="LoadModel"/> reads any of the formats
/// (<see cref="CheckpointFormat"/>: this library's training checkpoints, the authors' PyTorch <c>.pth</c> files — a full
/// checkpoint dict with the weights under <c>model_state_dict</c>, or a bare state dict, with or without the
/// data-parallel <c>module.</c> prefix — and TorchSharp's own format). Loading checks every key and shape first and
/// reports all mismatches at once; loaded parameters stay trainable. Saving is atomic: a temporary file is written and
/// then renamed over the target.
/// </summary>
public static class PixelCnnCheckpoint
{
    /// <summary>The entry of a full PyTorch checkpoint that holds the model weights.</summary>
    public const string ModelStateDictKey = "model_state_dict";

    /// <summary>The entry of the reference code's checkpoints that holds the moving average of the weights.</summary>
    public const string EmaStateDictKey = "ema_state_dict";

    /// <summary>The entry of the reference code's checkpoints that holds its command-line arguments.</summary>
    public const string ArgumentsKey = "args";

    /// <summary>The key prefix added by PyTorch's DataParallel wrapper.</summary>
    public const string DataParallelPrefix = "module.";

    /// <summary>Whether a file is a PyTorch checkpoint (zip format, or the legacy pre-1.6 format of the published files).</summary>
    /// <param name="path">The file.</param>
    /// <returns>True for a file written by <c>torch.save</c>, false otherwise (e.g. TorchSharp's format).</returns>
    public static bool IsPyTorchFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        Span<byte> start = stackalloc byte[4];
        int read = stream.ReadAtLeast(start, 4, throwOnEndOfStream: false);
        return IsZip(start[..read]) || LegacyPyTorchUnpickler.LooksLegacy(start[..read]);
    }

    /// <summary>
    /// Reads the model weights of a PyTorch file: the <c>model_state_dict</c> entry of a full checkpoint, or the
    /// file itself when it is a bare state dict; a leading <c>module.</c> is removed from every key. Both the zip
    /// format (through TorchSharp.PyBridge) and the legacy format of torch &lt; 1.6, in which the published
    /// checkpoints were written, are read; other entries (optimizer state, arguments, numpy scalars) are skipped.
    /// The tensors are on the CPU in the file's dtype and belong to the caller.
    /// </summary>
    /// <param name="path">A file written by <c>torch.save</c>.</param>
    /// <exception cref="CheckpointException">The file is unreadable, truncated or holds no state dict.</exception>
    public static Dictionary<string, Tensor> ReadPyTorchStateDict(string path) => ReadPyTorchCheckpoint(path, movingAverage: false).Weights;

    /// <summary>What a PyTorch file holds for loading a model: the weights, and the reference code's arguments when saved.</summary>
    /// <param name="Weights">The model state dict (or the moving average's), keys without a <c>module.</c> prefix.</param>
    /// <param name="Arguments">The <c>args</c> dict of a checkpoint written by the reference code's <c>main.py</c>, or null.</param>
    internal sealed record PyTorchCheckpoint(Dictionary<string, Tensor> Weights, IDictionary? Arguments);

    /// <summary>
    /// Reads the weights (<c>model_state_dict</c>, or <c>ema_state_dict</c> when <paramref name="movingAverage"/>) and the
    /// <c>args</c> entry of a full checkpoint, or a bare state dict; other entries are skipped and their tensors released.
    /// </summary>
    internal static PyTorchCheckpoint ReadPyTorchCheckpoint(string path, bool movingAverage)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string weightsKey = movingAverage ? EmaStateDictKey : ModelStateDictKey;
        Hashtable root;
        bool full;
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> start = stackalloc byte[4];
            int read = stream.ReadAtLeast(start, 4, throwOnEndOfStream: false);
            stream.Seek(0, SeekOrigin.Begin);
            if (LegacyPyTorchUnpickler.LooksLegacy(start[..read]))
            {
                bool isFull = false;
                // Only the chosen weights' storages are read: a full checkpoint is narrowed to them and its arguments.
                var part = LegacyPyTorchUnpickler.Read(stream, r =>
                {
                    if (r is not Hashtable h || !h.ContainsKey(ModelStateDictKey)) return r;
                    isFull = true;
                    return new Hashtable { [weightsKey] = h[weightsKey], [ArgumentsKey] = h[ArgumentsKey] };
                });
                root = part as Hashtable ?? throw new InvalidDataException("The file holds no dictionary.");
                full = isFull;
            }
            else
            {
                LegacyPyTorchUnpickler.EnsureInstalled();
                root = PyTorchUnpickler.UnpickleStateDict(stream);
                full = root.ContainsKey(ModelStateDictKey);
            }
        }
        catch (Exception e) when (e is not FileNotFoundException and not DirectoryNotFoundException and not CheckpointException)
        {
            throw new CheckpointException(
                $"Could not read '{path}' as a PyTorch checkpoint (a file written by torch.save): {e.Message}", e);
        }

        var weights = root;
        IDictionary? arguments = null;
        if (full)
        {
            if (root[weightsKey] is null && movingAverage)
            {
                DisposeTensorsExcept(root, new HashSet<Tensor>(ReferenceEqualityComparer.Instance), 0);
                throw new CheckpointException($"'{path}' holds no '{EmaStateDictKey}' (moving average of the weights); load its trained weights instead.");
            }
            weights = root[weightsKey] as Hashtable
                ?? throw new CheckpointException($"The '{weightsKey}' entry of '{path}' is not a dictionary.");
            arguments = root[ArgumentsKey] as IDictionary;
        }
        else if (movingAverage)
        {
            DisposeTensorsExcept(root, new HashSet<Tensor>(ReferenceEqualityComparer.Instance), 0);
            throw new CheckpointException($"'{path}' is a bare state dict: it holds no moving average of the weights.");
        }
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var notTensors = new List<string>();
        foreach (DictionaryEntry entry in weights)
        {
            var key = StripPrefix(entry.Key?.ToString() ?? string.Empty);
            if (entry.Value is Tensor t) result[key] = t;
            else notTensors.Add(key);
        }
        // Release what the caller does not get (optimizer state of a full checkpoint read by PyBridge).
        DisposeTensorsExcept(root, new HashSet<Tensor>(result.Values, ReferenceEqualityComparer.Instance), 0);
        if (notTensors.Count > 0)
        {
            foreach (var t in result.Values) t.Dispose();
            throw new CheckpointException(
                $"'{path}' holds neither a '{ModelStateDictKey}' entry nor a bare state dict: entries {string.Join(", ", notTensors.Take(10))} are not tensors.");
        }
        return new PyTorchCheckpoint(result, arguments);
    }

    /// <summary>Reads a state dict written in TorchSharp's format (<see cref="Save"/> or <c>Module.save</c>).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="CheckpointException">The file is truncated or not in TorchSharp's format.</exception>
    public static Dictionary<string, Tensor> ReadTorchSharpStateDict(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream);
            long count = DecodeLength(reader);
            if (count > 1_000_000) throw new InvalidDataException($"Implausible entry count {count}.");
            for (long i = 0; i < count; i++)
            {
                var key = reader.ReadString();
                long before = stream.Position;
                CheckpointFile.CheckTensorFits(reader, path, "state dict", key);
                var tensor = TensorExtensionMethods.Load(reader);
                result[key] = tensor;
                // A short read inside the tensor data is not reported by TorchSharp: compare the bytes consumed.
                if (stream.Position - before < tensor.NumberOfElements * tensor.ElementSize)
                    throw new EndOfStreamException($"The data of '{key}' is cut short.");
            }
            if (stream.Position != stream.Length) throw new InvalidDataException("Trailing bytes after the last tensor.");
        }
        catch (Exception e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            foreach (var t in result.Values) t.Dispose();
            throw new CheckpointException($"Could not read '{path}' as a TorchSharp state dict: {e.Message}", e);
        }
        return result;
    }

    /// <summary>Reads the model weights of either format (detected from the file's first bytes).</summary>
    /// <param name="path">A PyTorch or TorchSharp checkpoint.</param>
    public static Dictionary<string, Tensor> ReadStateDict(string path) =>
        IsPyTorchFile(path) ? ReadPyTorchStateDict(path) : ReadTorchSharpStateDict(path);

    /// <summary>
    /// Loads weights of either format into an existing model (converted to its dtype and device). Every key
    /// and shape is checked before anything is copied.
    /// </summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="path">A PyTorch or TorchSharp checkpoint.</param>
    /// <exception cref="CheckpointException">The file is unreadable, or keys are missing, unexpected or mis-shaped (all listed).</exception>
    public static void Load(IAutoregressiveImageModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        LoadStateDict(model, ReadStateDict(path), $"'{path}'");
    }

    /// <summary>The kind of file <paramref name="path"/> is, from its first bytes.</summary>
    /// <param name="path">An existing file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static CheckpointFormat DetectFormat(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found.", path);
        if (CheckpointFile.IsTrainingCheckpoint(path)) return CheckpointFormat.Training;
        return IsPyTorchFile(path) ? CheckpointFormat.PyTorch : CheckpointFormat.TorchSharp;
    }

    /// <summary>
    /// Loads a model from a file of any <see cref="CheckpointFormat"/>, detected from its first bytes, with exactly the
    /// configuration it was trained with wherever the file records it. The file decides which model is built: a
    /// <see cref="LocallyMaskedPixelCnn"/>, or the PixelCNN++ baseline <see cref="PixelCnnPlusPlus"/> (a training checkpoint
    /// of one; a file of the reference code whose <c>args['ours']</c> is false; or weights with the baseline's keys
    /// <c>ul_init.*</c>, <c>upsize_ul_stream.*</c>, as pclucas14/pixel-cnn-pp's):
    /// <list type="bullet">
    /// <item>a training checkpoint records its model type, configuration and orders;</item>
    /// <item>a checkpoint of the reference code's <c>main.py</c> records its <c>args</c>: normalization, learned mask
    /// weight, bias, kernel size, dilation, filters, blocks, mixtures, bits, binarization, data set and orders, which must
    /// agree with the tensor shapes (else a <see cref="CheckpointException"/> lists every disagreement); for the baseline the
    /// data set (image size), bits, filters, blocks, mixtures and binarization;</item>
    /// <item>for other weight files the shapes decide filters, blocks, channels, kernel, likelihood head, mixtures, weight
    /// normalization, bias and mask weight; the image size and bits come from <see cref="ModelLoadOptions.Template"/>; the
    /// normalization (none, PONO and order rescaling store the same tensors) and the dilation take the published models'
    /// values (PONO, 2) and are listed in <see cref="LoadedModel.Notes"/> as assumed (a baseline has neither).</item>
    /// </list>
    /// <see cref="ModelLoadOptions.Normalization"/>, <see cref="ModelLoadOptions.MaxDilation"/> and
    /// <see cref="ModelLoadOptions.ImageSize"/> win over the file and are listed as overrides; the first two do not
    /// apply to a baseline (an error). Nothing is half-loaded: every check runs before the model exists. A baseline's
    /// <see cref="LoadedModel.Orders"/> is its raster order.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Device, dtype, template, weights and overrides; defaults when null.</param>
    /// <returns>The model in evaluation mode, and what the file records about it.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointException">A weight file is unreadable, its arguments are unknown or contradict its tensors,
    /// or its tensors do not fit the model.</exception>
    /// <exception cref="InvalidDataException">A training checkpoint is truncated, corrupt or records no valid configuration.</exception>
    public static LoadedModel LoadModel(string path, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        if (options.MaxDilation is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxDilation, "ModelLoadOptions.MaxDilation must be at least 1.");
        if (options.ImageSize is { } requested && (requested.Height < 1 || requested.Width < 1))
            throw new ArgumentOutOfRangeException(nameof(options), requested, "ModelLoadOptions.ImageSize must be at least 1x1.");
        var format = DetectFormat(path);
        if (format == CheckpointFormat.Training) return LoadTrainingCheckpoint(path, options);

        using var scope = NewDisposeScope();
        var source = $"'{path}'";
        var contents = format == CheckpointFormat.PyTorch
            ? ReadPyTorchCheckpoint(path, options.MovingAverageWeights)
            : options.MovingAverageWeights
                ? throw new CheckpointException($"{source} holds plain weights in TorchSharp's format: it has no moving average of the weights.")
                : new PyTorchCheckpoint(ReadTorchSharpStateDict(path), null);
        var arguments = contents.Arguments is { } recorded ? ReferenceArguments.Parse(recorded, source) : null;
        bool baselineKeys = CheckpointConfigInference.IsBaseline(contents.Weights);
        if (arguments?.Ours is { } ours && ours == baselineKeys)
            throw new CheckpointException(ours
                ? $"The args of {source} contradict its tensors: args['ours'] is True (a Locally Masked PixelCNN++) but the tensors are a PixelCNN++ baseline's (ul_init.*, upsize_ul_stream.*)."
                : $"The args of {source} contradict its tensors: args['ours'] is False (a PixelCNN++ baseline of the reference code) but the tensors are a Locally Masked PixelCNN++'s.");
        if (baselineKeys) return LoadBaselineWeights(path, format, contents, arguments, options);

        var shapes = CheckpointConfigInference.Infer(contents.Weights, options.Template);
        PixelCnnConfig config;
        var notes = new List<ConfigurationNote>();
        if (arguments is not null)
            config = arguments.Configure(shapes, notes, source);
        else
        {
            config = shapes;
            if (config.Normalization != FeatureNormalization.WeightNorm)
                notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.Normalization), config.Normalization.ToString(), null));
            notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.MaxDilation), config.MaxDilation.ToString(System.Globalization.CultureInfo.InvariantCulture), null));
        }
        config = Override(config, options, notes, source);
        var (height, width) = Resize(config.Height, config.Width, options, notes, arguments is not null);
        config = config with { Height = height, Width = width };
        var orders = arguments?.BuildOrders(config.Height, config.Width, source);

        var model = new LocallyMaskedPixelCnn(config, options.Device, options.DType);
        try
        {
            LoadStateDict(model, contents.Weights, source);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return new LoadedModel(model, format, orders, null, options.MovingAverageWeights, notes);
    }

    /// <summary>Builds and fills a PixelCNN++ baseline from a weight file (the reference code's, pclucas14's, or TorchSharp's).</summary>
    private static LoadedModel LoadBaselineWeights(string path, CheckpointFormat format, PyTorchCheckpoint contents, ReferenceArguments? arguments,
        ModelLoadOptions options)
    {
        var source = $"'{path}'";
        if (options.Normalization is not null || options.MaxDilation is not null)
            throw new CheckpointException(
                $"{source} holds a PixelCNN++ baseline, which has no feature normalization or resampling dilation (it uses weight normalization and "
                + "strided shifted convolutions): leave the normalization and max-dilation settings unset.");
        var config = CheckpointConfigInference.InferBaseline(contents.Weights, options.Template);
        if (arguments is not null) config = arguments.ConfigureBaseline(config, source);
        var notes = new List<ConfigurationNote>();
        var (height, width) = Resize(config.Height, config.Width, options, notes, arguments is not null);
        config = config with { Height = height, Width = width };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"{source}: the PixelCNN++ configuration it implies is invalid: {e.Message}", e);
        }

        var model = new PixelCnnPlusPlus(config, options.Device, options.DType);
        try
        {
            LoadStateDict(model, contents.Weights, source);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return new LoadedModel(model, format, model.SupportedOrders, null, options.MovingAverageWeights, notes);
    }

    /// <summary>The image size after <see cref="ModelLoadOptions.ImageSize"/>, noted as an override when it replaces a recorded size.</summary>
    private static (int Height, int Width) Resize(int height, int width, ModelLoadOptions options, List<ConfigurationNote> notes, bool recorded)
    {
        if (options.ImageSize is not { } size || (size.Height == height && size.Width == width)) return (height, width);
        if (recorded) notes.Add(new ConfigurationNote(nameof(ModelLoadOptions.ImageSize), $"{size.Height}x{size.Width}", $"{height}x{width}"));
        return (size.Height, size.Width);
    }

    /// <summary>Applies the caller's overrides and notes each one that changes what the file records or implies.</summary>
    private static PixelCnnConfig Override(PixelCnnConfig config, ModelLoadOptions options, List<ConfigurationNote> notes, string source)
    {
        if (options.Normalization is { } normalization)
        {
            if (!Enum.IsDefined(normalization))
                throw new ArgumentOutOfRangeException(nameof(options), normalization, "Unknown ModelLoadOptions.Normalization.");
            if ((normalization == FeatureNormalization.WeightNorm) != (config.Normalization == FeatureNormalization.WeightNorm))
                throw new CheckpointException(
                    $"{source} stores {(config.Normalization == FeatureNormalization.WeightNorm ? "weight-normalized" : "plain")} convolution weights, so it cannot be used with the {normalization} normalization.");
            // The caller's value replaces an assumption; it is an override only where the file records another value.
            bool assumed = notes.RemoveAll(n => n.Setting == nameof(PixelCnnConfig.Normalization) && !n.IsOverride) > 0;
            if (!assumed && normalization != config.Normalization)
                notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.Normalization), normalization.ToString(), config.Normalization.ToString()));
            config = config with { Normalization = normalization };
        }
        if (options.MaxDilation is { } dilation)
        {
            bool assumed = notes.RemoveAll(n => n.Setting == nameof(PixelCnnConfig.MaxDilation) && !n.IsOverride) > 0;
            if (!assumed && dilation != config.MaxDilation)
                notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.MaxDilation), dilation.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    config.MaxDilation.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            config = config with { MaxDilation = dilation };
        }
        return config;
    }

    /// <summary>
    /// Averages the weights of several training checkpoints of one model (for example the last few of a run), of either
    /// kind: each parameter and buffer becomes the mean of its values across the files. Uses the trained weights, not the
    /// moving averages; the orders and metadata are the first file's.
    /// </summary>
    /// <param name="paths">One or more training checkpoints with the same model type and configuration.</param>
    /// <param name="options">Device and dtype of the model; defaults when null.</param>
    /// <exception cref="ArgumentException">A file is not a training checkpoint of this library.</exception>
    /// <exception cref="InvalidDataException">The files hold different models, or one is truncated or corrupt.</exception>
    public static LoadedModel LoadAverage(IReadOnlyList<string> paths, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0) throw new ArgumentException("Expected at least one checkpoint.", nameof(paths));
        options ??= new ModelLoadOptions();
        foreach (var path in paths)
            if (DetectFormat(path) != CheckpointFormat.Training)
                throw new ArgumentException($"{path}: only training checkpoints of this library can be averaged.", nameof(paths));
        var metadata = CheckpointFile.ReadMetadata(paths[0]);
        var (kind, config) = ConfigOf(metadata, paths[0]);
        foreach (var path in paths.Skip(1))
        {
            var (otherKind, otherConfig) = ConfigOf(CheckpointFile.ReadMetadata(path), path);
            if (otherKind != kind || !otherConfig.Equals(config))
                throw new InvalidDataException($"{path}: a different model ({otherKind}) or configuration than {paths[0]} ({kind}); only checkpoints of one model can be averaged.");
        }
        var model = Create(kind, config, options.Device, options.DType);
        var sums = new Dictionary<string, Tensor>();
        try
        {
            foreach (var path in paths)
            {
                var tensors = CheckpointFile.ReadModelTensors(path);
                foreach (var (name, value) in tensors)
                {
                    using var scope = NewDisposeScope();
                    var asDouble = value.is_floating_point() ? value.to_type(ScalarType.Float64) : value;
                    if (sums.TryGetValue(name, out var sum)) sum.PlusInPlace(asDouble);
                    else sums[name] = asDouble.clone().DetachFromDisposeScope();
                    value.Dispose();
                }
            }
            using (no_grad())
            {
                var state = model.Module.state_dict();
                if (!state.Keys.ToHashSet().SetEquals(sums.Keys))
                    throw new InvalidDataException($"{paths[0]}: the checkpoints' tensors do not match the model's.");
                foreach (var (name, target) in state)
                {
                    using var scope = NewDisposeScope();
                    var mean = target.is_floating_point() ? sums[name].DividedBy(paths.Count) : sums[name];
                    target.copy_(mean.to(target.dtype).to(target.device));
                }
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in sums.Values) t.Dispose();
        }
        model.Module.eval();
        return new LoadedModel(model, CheckpointFormat.Training, metadata.Orders(), metadata, false, Array.Empty<ConfigurationNote>());
    }

    private static LoadedModel LoadTrainingCheckpoint(string path, ModelLoadOptions options)
    {
        var metadata = CheckpointFile.ReadMetadata(path);
        var notes = new List<ConfigurationNote>();
        var (kind, recorded) = ConfigOf(metadata, path);
        if (options.ImageSize is { } size && (size.Height != recorded.Height || size.Width != recorded.Width))
            throw new ArgumentException(
                $"{path}: a training checkpoint's model is {recorded.Height}x{recorded.Width} and its orders are of that size; ModelLoadOptions.ImageSize applies to weight files only.",
                nameof(options));
        IImageModelConfig config;
        if (recorded is PixelCnnConfig lmconv) config = Override(lmconv, options, notes, path);
        else if (options.Normalization is not null || options.MaxDilation is not null)
            throw new CheckpointException(
                $"'{path}' holds a PixelCNN++ baseline, which has no feature normalization or resampling dilation (it uses weight normalization and "
                + "strided shifted convolutions): leave the normalization and max-dilation settings unset.");
        else config = recorded;
        bool useAverage = options.MovingAverageWeights;
        if (useAverage && !CheckpointFile.HasWeightAverage(path))
            throw new InvalidDataException($"{path}: the checkpoint holds no moving average of the weights (it was trained without EMA); load its trained weights instead.");
        // Built in the stored dtype (the checkpoint's tensors are loaded in place), converted afterwards if asked.
        var model = Create(kind, config, options.Device, null);
        try
        {
            var module = model.Module;
            Dictionary<string, Tensor>? average = null;
            if (useAverage)
                average = module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
            CheckpointFile.Load(path, new CheckpointFile.Parts(module, null, average));
            if (average is not null)
            {
                using (no_grad())
                    foreach (var (name, parameter) in module.named_parameters())
                        parameter.copy_(average[name]);
                foreach (var t in average.Values) t.Dispose();
            }
            if (options.DType is { } dtype && dtype != model.DType) module.to(dtype);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.Module.eval();
        return new LoadedModel(model, CheckpointFormat.Training, metadata.Orders(), metadata, useAverage, notes);
    }

    /// <summary>The model type of a training checkpoint (<see cref="CheckpointMetadata.ModelType"/>), as a kind.</summary>
    /// <param name="metadata">The checkpoint's metadata.</param>
    /// <param name="path">The file, for messages.</param>
    /// <exception cref="InvalidDataException">The checkpoint records a model type this library cannot build.</exception>
    public static ModelKind ModelKindOf(CheckpointMetadata metadata, string path)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string type = metadata.ModelType;
        // Files written before the baseline existed record the Locally Masked PixelCNN++ (or nothing, format 1).
        if (string.IsNullOrEmpty(type) || type == typeof(LocallyMaskedPixelCnn).FullName || type == nameof(LocallyMaskedPixelCnn))
            return ModelKind.LocallyMaskedPixelCnn;
        if (type == typeof(PixelCnnPlusPlus).FullName || type == nameof(PixelCnnPlusPlus)) return ModelKind.PixelCnnPlusPlus;
        throw new InvalidDataException(
            $"{path}: the checkpoint holds a model of type {type}, which this library cannot build (it builds {typeof(LocallyMaskedPixelCnn).FullName} and {typeof(PixelCnnPlusPlus).FullName}).");
    }

    /// <summary>The kind and configuration a training checkpoint records.</summary>
    private static (ModelKind Kind, IImageModelConfig Config) ConfigOf(CheckpointMetadata metadata, string path)
    {
        var kind = ModelKindOf(metadata, path);
        try
        {
            return (kind, kind == ModelKind.PixelCnnPlusPlus
                ? PixelCnnPlusPlusConfig.FromJson(metadata.ModelConfiguration)
                : PixelCnnConfig.FromJson(metadata.ModelConfiguration));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>A fresh model of the given kind.</summary>
    /// <param name="kind">Which model.</param>
    /// <param name="config">Its configuration: a <see cref="PixelCnnConfig"/> or a <see cref="PixelCnnPlusPlusConfig"/> to match.</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    private static IAutoregressiveImageModel Create(ModelKind kind, IImageModelConfig config, Device? device, ScalarType? dtype) => (kind, config) switch
    {
        (ModelKind.LocallyMaskedPixelCnn, PixelCnnConfig c) => new LocallyMaskedPixelCnn(c, device, dtype),
        (ModelKind.PixelCnnPlusPlus, PixelCnnPlusPlusConfig c) => new PixelCnnPlusPlus(c, device, dtype),
        _ => throw new ArgumentException($"A {kind} cannot be built from a {config.GetType().Name}.", nameof(config)),
    };

    /// <summary>
    /// Copies a state dict into the model after checking that its keys (after removing a <c>module.</c> prefix)
    /// and shapes match exactly. Values are converted to the model's dtype and device; the model's parameters
    /// keep requires_grad.
    /// </summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="stateDict">Weights by PyTorch name.</param>
    /// <param name="source">Description of the source used in error messages.</param>
    /// <exception cref="CheckpointException">Keys are missing, unexpected or mis-shaped (all listed).</exception>
    public static void LoadStateDict(IAutoregressiveImageModel model, IReadOnlyDictionary<string, Tensor> stateDict, string source = "the state dict")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stateDict);
        var incoming = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, value) in stateDict) incoming[StripPrefix(key)] = value;

        var target = model.Module.state_dict();
        var missing = target.Keys.Where(k => !incoming.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var unexpected = incoming.Keys.Where(k => !target.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var misShaped = incoming
            .Where(kv => target.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"{kv.Key}: checkpoint ({string.Join(", ", kv.Value.shape)}) vs model ({string.Join(", ", target[kv.Key].shape)})")
            .ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || misShaped.Count > 0)
            throw new CheckpointException(source, missing, unexpected, misShaped);
        // Checked before anything is copied, so that a bad file never leaves the model half loaded.
        foreach (var (key, value) in incoming.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!value.is_floating_point() && target[key].is_floating_point())
                throw new CheckpointException($"The entry '{key}' of {source} has dtype {value.dtype}, expected a floating-point tensor.");
        }

        using (no_grad())
        {
            foreach (var (key, value) in incoming) target[key].copy_(value);
        }
        (model as LocallyMaskedPixelCnn)?.ClearMaskCache();
    }

    /// <summary>Saves the weights in TorchSharp's format, atomically (temporary file, then rename).</summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="path">Target file; replaced only when the whole file has been written.</param>
    public static void Save(IAutoregressiveImageModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            model.Module.save(writer);
            writer.Flush();
        });
    }

    /// <summary>
    /// Saves the weights as a PyTorch file readable by <c>torch.load</c>, atomically: a full checkpoint dict
    /// with the weights under <c>model_state_dict</c> (the authors' layout), or a bare state dict.
    /// </summary>
    /// <param name="model">The model (either kind; a PixelCNN++ file loads into the authors' baseline.py and pclucas14/pixel-cnn-pp).</param>
    /// <param name="path">Target file.</param>
    /// <param name="fullCheckpoint">True for the <c>{"model_state_dict": ...}</c> layout, false for a bare state dict.</param>
    public static void SavePyTorch(IAutoregressiveImageModel model, string path, bool fullCheckpoint = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream =>
        {
            using var scope = NewDisposeScope();
            var weights = new Hashtable();
            foreach (var (key, value) in model.Module.state_dict()) weights[key] = value.detach().cpu();
            IDictionary root = weights;
            if (fullCheckpoint) root = new Hashtable { [ModelStateDictKey] = weights };
            PyTorchPickler.PickleStateDict(stream, root, leaveOpen: true);
        });
    }

    /// <summary>Unsigned LEB128, the length encoding of TorchSharp's format.</summary>
    private static long DecodeLength(BinaryReader reader)
    {
        long result = 0;
        for (int shift = 0; shift < 63; shift += 7)
        {
            long b = reader.ReadByte();
            result |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new InvalidDataException("Malformed length field.");
    }

    private static void DisposeTensorsExcept(object? node, HashSet<Tensor> keep, int depth)
    {
        if (depth > 64) return;
        switch (node)
        {
            case Tensor t when !keep.Contains(t): t.Dispose(); break;
            case Tensor: break;
            case IDictionary d: foreach (DictionaryEntry e in d) DisposeTensorsExcept(e.Value, keep, depth + 1); break;
            case IEnumerable e and not string: foreach (var item in e) DisposeTensorsExcept(item, keep, depth + 1); break;
        }
    }

    private static bool IsZip(ReadOnlySpan<byte> start) =>
        start.Length >= 4 && start[0] == 0x50 && start[1] == 0x4b && start[2] == 0x03 && start[3] == 0x04;

    private static string StripPrefix(string key) =>
        key.StartsWith(DataParallelPrefix, StringComparison.Ordinal) ? key[DataParallelPrefix.Length..] : key;
}
