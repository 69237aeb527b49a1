using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using LocallyMasked.Checkpoints.Pickles;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Files written by <c>torch.save</c> in the legacy (pre-1.6, non-zip) format, which the published checkpoints use (the
/// reference code pins torch 1.3.1). Layout: pickles of the magic number, the protocol version and the system info; the
/// pickled object, whose tensors refer to storages by persistent id (<see cref="TorchPickleHost"/>); the pickled list of
/// storage keys; then for each key the element count (int64, little-endian) and the raw little-endian data. Only the
/// storages of the tensors the caller selects are read; the others (optimizer state) are skipped. Every size is checked
/// against what the file still holds before anything is allocated.
/// </summary>
internal static class LegacyPyTorchFiles
{
    private static readonly BigInteger MagicNumber = BigInteger.Parse("119547037146038801333356", CultureInfo.InvariantCulture);
    private const int ProtocolVersion = 1001;

    /// <summary>Whether a file starts like a legacy <c>torch.save</c> file (pickle protocol 2 and a long integer).</summary>
    /// <param name="start">The first bytes of the file.</param>
    public static bool LooksLegacy(ReadOnlySpan<byte> start) => start.Length >= 3 && start[0] == 0x80 && start[1] == 0x02 && start[2] == 0x8a;

    /// <summary>Reads the tensors <paramref name="select"/> chooses from the unpickled object, and what else it keeps.</summary>
    /// <param name="stream">The file, at its start.</param>
    /// <param name="limits">The limits of the pickle.</param>
    /// <param name="select">Chooses the tensors to read (and the arguments) from the unpickled object.</param>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or beyond a limit.</exception>
    public static PyTorchFiles.Contents Read(Stream stream, CheckpointLimits limits, Func<object?, PyTorchFiles.Selection> select)
    {
        var input = new PickleInput(stream, limits.MaxPickleBytes);
        object? Load(IPickleHost? host) => PickleMachine.Load(input, host, limits.MaxNestingDepth, limits.MaxPickleValues);

        if (Load(null) is not BigInteger magic || magic != MagicNumber)
            throw new InvalidDataException("Not a PyTorch file: the magic number is missing.");
        if (Load(null) is not long protocol || protocol != ProtocolVersion)
            throw new InvalidDataException("Unsupported legacy PyTorch protocol version.");
        if (Load(null) is PickleDict info && info.Get("little_endian") is false)
            throw new InvalidDataException("Big-endian PyTorch files are not supported.");

        var host = new TorchPickleHost();
        var selection = select(Load(host));
        var keys = Load(null) is PickleList list
            ? list.Select(k => k as string ?? (k is long l ? l.ToString(CultureInfo.InvariantCulture) : throw new InvalidDataException("The storage list holds a non-string key."))).ToList()
            : throw new InvalidDataException("The storage list is missing.");

        var needed = selection.StorageKeys();
        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            Span<byte> countBytes = stackalloc byte[8];
            foreach (var key in keys)
            {
                if (!host.Storages.TryGetValue(key, out var storage))
                    throw new InvalidDataException($"The storage list names '{key}', which no tensor uses.");
                if (!seen.Add(key)) throw new InvalidDataException($"The storage list names '{key}' twice.");
                stream.ReadExactly(countBytes);
                long count = BinaryPrimitives.ReadInt64LittleEndian(countBytes);
                if (count != storage.Count)
                    throw new InvalidDataException($"Storage '{key}' holds {count} elements, {storage.Count} expected.");
                long bytes = storage.Bytes;
                if (stream.CanSeek && bytes > stream.Length - stream.Position)
                    throw new EndOfStreamException($"Storage '{key}' needs {bytes} bytes; the file holds {stream.Length - stream.Position} more.");
                if (needed.Contains(key)) storages[key] = TorchStorages.Read(storage, stream);
                else Skip(stream, bytes);
            }
            var missing = needed.Where(k => !storages.ContainsKey(k)).ToList();
            if (missing.Count > 0) throw new InvalidDataException($"Storages {string.Join(", ", missing.Take(10))} are missing from the file.");
            return selection.Materialize(storages);
        }
        finally
        {
            foreach (var s in storages.Values) s.Dispose();
        }
    }

    private static void Skip(Stream stream, long bytes)
    {
        if (stream.CanSeek)
        {
            stream.Seek(bytes, SeekOrigin.Current);
            return;
        }
        var buffer = new byte[81920];
        while (bytes > 0)
        {
            int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, bytes));
            if (read == 0) throw new EndOfStreamException("A storage is cut short.");
            bytes -= read;
        }
    }
}
