using System.Collections;
using LocallyMasked.Checkpoints.Pickles;
using LocallyMasked.Models;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Files written by PyTorch's <c>torch.save</c>, as the authors' code writes them: the zip format
/// (<see cref="ZipPyTorchFiles"/>) and the legacy format of torch &lt; 1.6 in which the published checkpoints were written
/// (<see cref="LegacyPyTorchFiles"/>), both unpickled by <see cref="PickleMachine"/> within <see cref="CheckpointLimits"/>;
/// either a full checkpoint dict (weights under <c>model_state_dict</c>, the moving average under <c>ema_state_dict</c>,
/// the arguments of their <c>main.py</c> under <c>args</c>) or a bare state dict (pclucas14/pixel-cnn-pp's files are of
/// this kind), with or without the data-parallel <c>module.</c> prefix. Only the chosen weights' data is read: the
/// optimizer state and the other entries are unpickled as inert values and never walked.
/// </summary>
internal static class PyTorchFiles
{
    /// <summary>What a PyTorch file holds for loading a model: the weights, and the reference code's arguments when saved.</summary>
    /// <param name="Weights">The model state dict (or the moving average's), keys without a <c>module.</c> prefix.</param>
    /// <param name="Arguments">The <c>args</c> dict of a checkpoint written by the reference code's <c>main.py</c>, or null.</param>
    public sealed record Contents(Dictionary<string, Tensor> Weights, IDictionary? Arguments);

    /// <summary>The tensors chosen from an unpickled file (by state-dict key) and its arguments, before any data is read.</summary>
    /// <param name="Tensors">The chosen tensors.</param>
    /// <param name="Arguments">The arguments dict, or null.</param>
    public sealed record Selection(IReadOnlyList<KeyValuePair<string, TensorReference>> Tensors, IDictionary? Arguments)
    {
        /// <summary>The keys of the storages the chosen tensors use.</summary>
        public HashSet<string> StorageKeys() => Tensors.Select(t => t.Value.Storage.Key).ToHashSet(StringComparer.Ordinal);

        /// <summary>The chosen tensors as new contiguous CPU tensors (the caller's), from the storages' data.</summary>
        /// <param name="storages">The data of every storage in <see cref="StorageKeys"/>.</param>
        public Contents Materialize(IReadOnlyDictionary<string, Tensor> storages)
        {
            var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                foreach (var (key, reference) in Tensors) weights[key] = reference.Materialize(storages[reference.Storage.Key]);
            }
            catch
            {
                foreach (var t in weights.Values) t.Dispose();
                throw;
            }
            return new Contents(weights, Arguments);
        }
    }

    /// <summary>Whether a file starts like a PyTorch file (zip, or the legacy format).</summary>
    /// <param name="path">An existing file.</param>
    public static bool IsPyTorchFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        Span<byte> start = stackalloc byte[4];
        int read = stream.ReadAtLeast(start, 4, throwOnEndOfStream: false);
        return ZipPyTorchFiles.IsZip(start[..read]) || LegacyPyTorchFiles.LooksLegacy(start[..read]);
    }

    /// <summary>
    /// Reads the weights (<c>model_state_dict</c>, or <c>ema_state_dict</c> when <paramref name="movingAverage"/>) and the
    /// <c>args</c> entry of a full checkpoint, or a bare state dict. The tensors are contiguous, on the CPU in the file's
    /// dtype, and belong to the caller.
    /// </summary>
    /// <param name="path">A file written by <c>torch.save</c>.</param>
    /// <param name="movingAverage">Read the moving average instead of the trained weights.</param>
    /// <param name="limits">The limits of the reading; the defaults when null.</param>
    /// <exception cref="CheckpointException">The file is unreadable, truncated, beyond a limit, holds no state dict, or no moving average when asked for one.</exception>
    public static Contents Read(string path, bool movingAverage, CheckpointLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        limits ??= CheckpointLimits.Default;
        string weightsKey = movingAverage ? PixelCnnCheckpoint.EmaStateDictKey : PixelCnnCheckpoint.ModelStateDictKey;
        Selection Select(object? root) => Choose(root, weightsKey, movingAverage, path);
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> start = stackalloc byte[4];
            int read = stream.ReadAtLeast(start, 4, throwOnEndOfStream: false);
            stream.Seek(0, SeekOrigin.Begin);
            return LegacyPyTorchFiles.LooksLegacy(start[..read])
                ? LegacyPyTorchFiles.Read(stream, limits, Select)
                : ZipPyTorchFiles.Read(stream, limits, Select);
        }
        catch (PickleLimitException e)
        {
            var (name, value) = e.Limit switch
            {
                PickleLimit.Depth => (nameof(CheckpointLimits.MaxNestingDepth), limits.MaxNestingDepth),
                PickleLimit.Values => (nameof(CheckpointLimits.MaxPickleValues), limits.MaxPickleValues),
                _ => (nameof(CheckpointLimits.MaxPickleBytes), limits.MaxPickleBytes),
            };
            throw new CheckpointException($"Refused '{path}': {e.Message.TrimEnd('.')}; CheckpointLimits.{name} (now {value}) raises the limit.", e);
        }
        catch (Exception e) when (e is not (CheckpointException or FileNotFoundException or DirectoryNotFoundException))
        {
            throw new CheckpointException(
                $"Could not read '{path}' as a PyTorch checkpoint (a file written by torch.save): {e.Message}", e);
        }
    }

    /// <summary>Writes a state dict readable by <c>torch.load</c> (zip format): a full checkpoint dict with the weights under <c>model_state_dict</c>, or a bare state dict.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="stateDict">The weights (copied to the CPU).</param>
    /// <param name="fullCheckpoint">True for the <c>{"model_state_dict": ...}</c> layout, false for a bare state dict.</param>
    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> stateDict, bool fullCheckpoint)
    {
        using var scope = NewDisposeScope();
        var weights = new Hashtable();
        foreach (var (key, value) in stateDict) weights[key] = value.detach().cpu();
        IDictionary root = weights;
        if (fullCheckpoint) root = new Hashtable { [PixelCnnCheckpoint.ModelStateDictKey] = weights };
        PyTorchPickler.PickleStateDict(stream, root, leaveOpen: true);
    }

    /// <summary>
    /// The weights and arguments of an unpickled file: the chosen entry of a full checkpoint dict (one with a
    /// <c>model_state_dict</c>), or the file itself as a bare state dict. Nothing else is looked at.
    /// </summary>
    private static Selection Choose(object? root, string weightsKey, bool movingAverage, string path)
    {
        if (root is not PickleDict file)
            throw new CheckpointException($"'{path}' holds {PickleText.Describe(root)}, not a state dict or a checkpoint dict.");
        var weights = file;
        IDictionary? arguments = null;
        if (file.ContainsKey(PixelCnnCheckpoint.ModelStateDictKey))
        {
            if (file.Get(weightsKey) is null && movingAverage)
                throw new CheckpointException(
                    $"'{path}' holds no '{PixelCnnCheckpoint.EmaStateDictKey}' (moving average of the weights); load its trained weights instead.");
            weights = file.Get(weightsKey) as PickleDict
                ?? throw new CheckpointException($"The '{weightsKey}' entry of '{path}' is not a dictionary.");
            // Their main.py stores vars(args) (a dict); older files an argparse.Namespace, whose state is that dict.
            arguments = file.Get(PixelCnnCheckpoint.ArgumentsKey) switch
            {
                PickleDict dict => dict,
                PickleObject { State: PickleDict state } => state,
                _ => null,
            };
        }
        else if (movingAverage)
            throw new CheckpointException($"'{path}' is a bare state dict: it holds no moving average of the weights.");

        var tensors = new List<KeyValuePair<string, TensorReference>>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var notTensors = new List<string>();
        foreach (var (key, value) in weights)
        {
            if (key is not string name || value is not TensorReference tensor)
            {
                notTensors.Add(key is string s ? PickleText.Quote(s) : PickleText.Describe(key));
                continue;
            }
            var withoutPrefix = StateDictFit.WithoutPrefix(name);
            if (!keys.Add(withoutPrefix))
                throw new CheckpointException($"'{path}' holds the weight {PickleText.Quote(withoutPrefix)} twice (with and without the '{PixelCnnCheckpoint.DataParallelPrefix}' prefix).");
            tensors.Add(new(withoutPrefix, tensor));
        }
        if (notTensors.Count > 0)
            throw new CheckpointException(
                $"'{path}' holds neither a '{PixelCnnCheckpoint.ModelStateDictKey}' entry nor a bare state dict: entries {string.Join(", ", notTensors.Take(10))} are not tensors.");
        return new Selection(tensors, arguments);
    }
}
