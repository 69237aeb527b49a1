using System.Collections;
using System.Numerics;
using System.Runtime.CompilerServices;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Reads files written by <c>torch.save</c> in the legacy (pre-1.6, non-zip) format, which the published
/// checkpoints use (the reference code pins torch 1.3.1) and which TorchSharp.PyBridge does not read.
/// Layout: pickles of the magic number, the protocol version and the system info; the pickled object, whose
/// tensors refer to storages by persistent id; the pickled list of storage keys; then for each key the element
/// count (int64, little-endian) and the raw little-endian data.
/// </summary>
internal sealed class LegacyPyTorchUnpickler : Unpickler
{
    private static readonly BigInteger MagicNumber = BigInteger.Parse("119547037146038801333356");
    private const int ProtocolVersion = 1001;
    private static readonly object InstallGate = new();
    private static bool _installed;

    /// <summary>Storages seen while unpickling, by key.</summary>
    private readonly Dictionary<string, StorageReference> _storages = new(StringComparer.Ordinal);

    private LegacyPyTorchUnpickler()
    {
    }

    /// <summary>
    /// Unpickles a legacy file. Tensors appear as <see cref="Tensor"/> values; storages that no returned
    /// tensor needs (optimizer state) are skipped.
    /// </summary>
    /// <param name="stream">A readable stream positioned at the start of the file.</param>
    /// <param name="wanted">Chooses which part of the unpickled root is kept (its tensors are materialized).</param>
    public static object Read(Stream stream, Func<object, object> wanted)
    {
        Install();
        using var header = new Unpickler();
        var magic = header.load(stream);
        if (magic is not BigInteger number || number != MagicNumber)
            throw new InvalidDataException("Not a PyTorch file: the magic number is missing.");
        var protocol = Convert.ToInt64(header.load(stream), System.Globalization.CultureInfo.InvariantCulture);
        if (protocol != ProtocolVersion)
            throw new InvalidDataException($"Unsupported legacy PyTorch protocol version {protocol}.");
        if (header.load(stream) is Hashtable info && info["little_endian"] is bool little && !little)
            throw new InvalidDataException("Big-endian PyTorch files are not supported.");

        using var unpickler = new LegacyPyTorchUnpickler();
        var root = unpickler.load(stream);
        var part = wanted(root);
        List<string> keys;
        using (var keyReader = new Unpickler())
            keys = ((IEnumerable)keyReader.load(stream)).Cast<object>().Select(k => k.ToString()!).ToList();

        var needed = new HashSet<string>(StringComparer.Ordinal);
        CollectStorageKeys(part, needed, 0);
        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        foreach (var key in keys)
        {
            if (!unpickler._storages.TryGetValue(key, out var storage))
                throw new InvalidDataException($"The storage list names '{key}', which no tensor uses.");
            long count = reader.ReadInt64();
            if (count != storage.Count)
                throw new InvalidDataException($"Storage '{key}' holds {count} elements, {storage.Count} expected.");
            long bytes = count * ElementSize(storage.DType);
            if (!needed.Contains(key))
            {
                Skip(stream, bytes);
                continue;
            }
            var data = empty(count, storage.DType);
            long before = stream.Position;
            data.ReadBytesFromStream(stream);
            if (stream.Position - before != bytes) throw new EndOfStreamException($"The data of storage '{key}' is cut short.");
            storages[key] = data;
        }
        var missing = needed.Where(k => !storages.ContainsKey(k)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"Storages {string.Join(", ", missing)} are missing from the file.");
        var result = Materialize(part, storages, 0);
        foreach (var s in storages.Values) s.Dispose();
        return result;
    }

    /// <summary>Whether a file starts like a legacy <c>torch.save</c> file (pickle protocol 2 and a long integer).</summary>
    /// <param name="start">The first bytes of the file.</param>
    public static bool LooksLegacy(ReadOnlySpan<byte> start) => start.Length >= 3 && start[0] == 0x80 && start[1] == 0x02 && start[2] == 0x8a;

    /// <inheritdoc />
    protected override object persistentLoad(object pid)
    {
        // ('storage', storage_type, key, location, size, view_metadata)
        if (pid is not object[] parts || parts.Length < 5 || parts[0] as string != "storage")
            throw new InvalidDataException("Unknown persistent id in a legacy PyTorch file.");
        var typeName = parts[1] switch
        {
            ClassDictConstructor c => c.name,
            var other => other?.ToString() ?? string.Empty,
        };
        var key = parts[2]?.ToString() ?? throw new InvalidDataException("A storage without a key.");
        var dtype = DTypeOfStorage(typeName);
        long count = Convert.ToInt64(parts[4], System.Globalization.CultureInfo.InvariantCulture);
        if (!_storages.TryGetValue(key, out var storage))
        {
            storage = new StorageReference(key, dtype, count);
            _storages[key] = storage;
        }
        if (parts.Length > 5 && parts[5] is object[] view && view.Length == 3)
        {
            // A view into a root storage: (view_key, offset, view_size).
            long offset = Convert.ToInt64(view[1], System.Globalization.CultureInfo.InvariantCulture);
            return new StorageView(storage, offset);
        }
        return new StorageView(storage, 0);
    }

    private static void Install()
    {
        lock (InstallGate)
        {
            if (_installed) return;
            // PyBridge registers its zip-format tensor constructors in its static constructor; run it first so that
            // ours wraps (and delegates to) them instead of being replaced later.
            RuntimeHelpers.RunClassConstructor(typeof(PyTorchUnpickler).TypeHandle);
            foreach (var name in new[] { "_rebuild_tensor", "_rebuild_tensor_v2" })
            {
                objectConstructors.TryGetValue("torch._utils." + name, out var inner);
                registerConstructor("torch._utils", name, new TensorConstructor(inner));
            }
            // Checkpoints hold numpy scalars (test losses); Razorvine cannot build those by default.
            registerConstructor("numpy", "dtype", new NumpyDTypeConstructor());
            registerConstructor("numpy.core.multiarray", "scalar", new NumpyScalarConstructor());
            registerConstructor("numpy._core.multiarray", "scalar", new NumpyScalarConstructor());
            _installed = true;
        }
    }

    /// <summary>Makes sure the numpy constructors are registered (they help the zip reader too).</summary>
    public static void EnsureInstalled() => Install();

    private static ScalarType DTypeOfStorage(string name) => name switch
    {
        "DoubleStorage" => ScalarType.Float64,
        "FloatStorage" => ScalarType.Float32,
        "HalfStorage" => ScalarType.Float16,
        "BFloat16Storage" => ScalarType.BFloat16,
        "LongStorage" => ScalarType.Int64,
        "IntStorage" => ScalarType.Int32,
        "ShortStorage" => ScalarType.Int16,
        "CharStorage" => ScalarType.Int8,
        "ByteStorage" => ScalarType.Byte,
        "BoolStorage" => ScalarType.Bool,
        _ => throw new InvalidDataException($"Unsupported storage type '{name}'."),
    };

    private static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    private static void Skip(Stream stream, long bytes)
    {
        if (stream.CanSeek)
        {
            if (stream.Position + bytes > stream.Length) throw new EndOfStreamException("A storage is cut short.");
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

    private static void CollectStorageKeys(object? node, HashSet<string> keys, int depth)
    {
        if (depth > 64) return;
        switch (node)
        {
            case TensorReference t: keys.Add(t.Storage.Key); break;
            case IDictionary d: foreach (DictionaryEntry e in d) CollectStorageKeys(e.Value, keys, depth + 1); break;
            case IEnumerable e and not string: foreach (var item in e) CollectStorageKeys(item, keys, depth + 1); break;
        }
    }

    private static object Materialize(object node, Dictionary<string, Tensor> storages, int depth)
    {
        switch (node)
        {
            case TensorReference t:
                using (var scope = NewDisposeScope())
                {
                    var tensor = storages[t.Storage.Key].as_strided(t.Shape, t.Stride, t.Offset).clone();
                    return tensor.MoveToOuterDisposeScope();
                }
            case Hashtable table when depth < 64:
                foreach (var key in table.Keys.Cast<object>().ToList())
                    table[key] = Materialize(table[key]!, storages, depth + 1);
                return table;
            default:
                return node;
        }
    }

    private sealed record StorageReference(string Key, ScalarType DType, long Count);

    private sealed record StorageView(StorageReference Storage, long Offset);

    /// <summary>A tensor whose data is read after the pickle: storage, element offset, shape, stride.</summary>
    private sealed record TensorReference(StorageReference Storage, long Offset, long[] Shape, long[] Stride);

    /// <summary><c>torch._utils._rebuild_tensor(_v2)</c>: legacy storages become <see cref="TensorReference"/>s; anything else goes to PyBridge.</summary>
    private sealed class TensorConstructor(IObjectConstructor? inner) : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length >= 4 && args[0] is StorageView view)
            {
                static long[] Longs(object o) => ((IEnumerable)o).Cast<object>()
                    .Select(v => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                long offset = Convert.ToInt64(args[1], System.Globalization.CultureInfo.InvariantCulture);
                return new TensorReference(view.Storage, view.Offset + offset, Longs(args[2]), Longs(args[3]));
            }
            if (inner is null) throw new PickleException("No constructor for torch._utils._rebuild_tensor.");
            return inner.construct(args);
        }
    }

    /// <summary>A numpy dtype as pickled: its code (e.g. "f8") and, after __setstate__, its byte order.</summary>
    internal sealed class NumpyDType(string code)
    {
        public string Code { get; } = code;

        public string ByteOrder { get; private set; } = "<";

        public void __setstate__(object[] state)
        {
            if (state.Length > 1 && state[1] is string order) ByteOrder = order;
        }
    }

    private sealed class NumpyDTypeConstructor : IObjectConstructor
    {
        public object construct(object[] args) => new NumpyDType(args.Length > 0 ? args[0]?.ToString() ?? "" : "");
    }

    /// <summary><c>numpy.core.multiarray.scalar(dtype, bytes)</c>: numbers become double / long, anything else stays bytes.</summary>
    private sealed class NumpyScalarConstructor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length < 2 || args[0] is not NumpyDType dtype || args[1] is not byte[] bytes) return args.Length > 1 ? args[1] : args;
            if (dtype.ByteOrder == ">") return bytes;
            return (dtype.Code, bytes.Length) switch
            {
                ("f8", 8) => BitConverter.ToDouble(bytes),
                ("f4", 4) => (double)BitConverter.ToSingle(bytes),
                ("i8", 8) => BitConverter.ToInt64(bytes),
                ("i4", 4) => (long)BitConverter.ToInt32(bytes),
                ("b1", 1) => bytes[0] != 0,
                _ => bytes,
            };
        }
    }
}
