using System.IO.Compression;
using System.Text;
using LocallyMasked.Checkpoints.Pickles;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Files written by <c>torch.save</c> in the zip format (torch 1.6 and later): one folder holding <c>data.pkl</c> (the
/// pickled object, its tensors referring to storages by persistent id, see <see cref="TorchPickleHost"/>), a
/// <c>data/&lt;key&gt;</c> entry per storage (raw little-endian data) and, from torch 1.10, <c>byteorder</c>. Only the
/// storages of the tensors the caller selects are read. A storage entry must hold exactly its storage's bytes; since
/// torch.save stores entries uncompressed, the bytes read may exceed the file's size only by
/// <see cref="CheckpointLimits.MaxInflatedStorageBytes"/> (compressed entries, zip bombs).
/// </summary>
internal static class ZipPyTorchFiles
{
    private const string PickleName = "data.pkl";

    /// <summary>Whether a file starts like a zip archive.</summary>
    /// <param name="start">The first bytes of the file.</param>
    public static bool IsZip(ReadOnlySpan<byte> start) =>
        start.Length >= 4 && start[0] == 0x50 && start[1] == 0x4b && start[2] == 0x03 && start[3] == 0x04;

    /// <summary>Reads the tensors <paramref name="select"/> chooses from the unpickled object, and what else it keeps.</summary>
    /// <param name="stream">The file (seekable).</param>
    /// <param name="limits">The limits of the pickle and the storages.</param>
    /// <param name="select">Chooses the tensors to read (and the arguments) from the unpickled object.</param>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated or beyond a limit.</exception>
    public static PyTorchFiles.Contents Read(Stream stream, CheckpointLimits limits, Func<object?, PyTorchFiles.Selection> select)
    {
        long fileLength = stream.Length;
        using var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        var pickles = archive.Entries.Where(e => e.FullName.EndsWith("/" + PickleName, StringComparison.Ordinal)
            && e.FullName.IndexOf('/') == e.FullName.Length - PickleName.Length - 1).ToList();
        if (pickles.Count != 1)
            throw new InvalidDataException(pickles.Count == 0 ? "The archive holds no <folder>/data.pkl." : $"The archive holds {pickles.Count} <folder>/data.pkl entries.");
        string prefix = pickles[0].FullName[..^PickleName.Length];
        if (archive.GetEntry(prefix + "byteorder") is { } byteOrder)
        {
            using var order = byteOrder.Open();
            var text = new byte[16];
            int read = order.ReadAtLeast(text, text.Length, throwOnEndOfStream: false);
            if (Encoding.ASCII.GetString(text, 0, read).Trim() is var name && name != "little")
                throw new InvalidDataException($"The file's byte order is {PickleText.Quote(name)}; only little-endian files are read.");
        }

        var host = new TorchPickleHost();
        object? root;
        // The pickle is read a byte at a time: buffered, since an entry's stream reads the file for each call.
        using (var pickle = new BufferedStream(pickles[0].Open(), 1 << 16))
            root = PickleMachine.Load(new PickleInput(pickle, limits.MaxPickleBytes, pickles[0].Length), host, limits.MaxNestingDepth, limits.MaxPickleValues);
        var selection = select(root);

        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            long total = 0;
            foreach (var key in selection.StorageKeys())
            {
                var storage = host.Storages[key];
                var entry = archive.GetEntry(prefix + "data/" + key)
                    ?? throw new InvalidDataException($"The archive has no entry {prefix}data/{key} for storage '{key}'.");
                long bytes = storage.Bytes;
                if (entry.Length != bytes)
                    throw new InvalidDataException($"The entry of storage '{key}' holds {entry.Length} bytes; its {storage.Count} elements of {storage.DType} take {bytes}.");
                if (entry.CompressedLength > fileLength)
                    throw new InvalidDataException($"The entry of storage '{key}' claims {entry.CompressedLength} bytes, more than the whole file.");
                total = checked(total + bytes);
                if (total - fileLength > limits.MaxInflatedStorageBytes)
                    throw new InvalidDataException(
                        $"The tensors read take {total} bytes, more than the file's {fileLength} bytes plus {limits.MaxInflatedStorageBytes} (compressed or overlapping entries); CheckpointLimits.MaxInflatedStorageBytes raises the limit.");
                using var data = entry.Open();
                storages[key] = TorchStorages.Read(storage, data);
            }
            return selection.Materialize(storages);
        }
        finally
        {
            foreach (var s in storages.Values) s.Dispose();
        }
    }
}
