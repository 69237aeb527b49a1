using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;

namespace LocallyMasked.Cli.Tests.Hostile;

/// <summary>
/// Makes the hostile files and folders of the program's suite in a test's folder, small on disk whatever they claim:
/// PNG files written chunk by chunk (a header that claims any size, a compressed stream of zero rows that inflates to
/// gigabytes), symbolic-link loops, names that are not valid UTF-8 or hold control characters.
/// </summary>
internal static class HostileFiles
{
    private static readonly byte[] Signature = { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };

    /// <summary>A small grey PNG with a pattern that depends on <paramref name="seed"/>.</summary>
    public static void Png(string path, int width = 8, int height = 8, int seed = 0)
    {
        var rows = new byte[height * (width + 1)];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                rows[y * (width + 1) + 1 + x] = (byte)(x * 7 + y * 13 + seed * 31);
        WritePng(path, width, height, Deflate(rows));
    }

    /// <summary>
    /// A PNG whose header claims <paramref name="width"/> x <paramref name="height"/> grey pixels and whose data is a
    /// few bytes: about 70 bytes on disk.
    /// </summary>
    public static void PngClaiming(string path, int width, int height) => WritePng(path, width, height, Deflate(new byte[8]));

    /// <summary>
    /// A valid grey PNG of <paramref name="width"/> x <paramref name="height"/> zero pixels: compressed, about a thousandth
    /// of what it decodes to (a decompression bomb). Streamed, so that making it takes no memory.
    /// </summary>
    public static void PngOfZeros(string path, int width, int height)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[width + 1];
            for (int y = 0; y < height; y++) zlib.Write(row);
        }
        WritePng(path, width, height, compressed.ToArray());
    }

    /// <summary>Creates <paramref name="count"/> distinct small PNGs named img01.png ... in <paramref name="folder"/>.</summary>
    public static string Images(string folder, int count, int size = 8)
    {
        Directory.CreateDirectory(folder);
        for (int i = 1; i <= count; i++) Png(Path.Combine(folder, $"img{i:D2}.png"), size, size, i);
        return folder;
    }

    /// <summary>A symbolic link at <paramref name="link"/> to <paramref name="target"/> (kept relative as given).</summary>
    public static void Link(string link, string target) => File.CreateSymbolicLink(link, target);

    /// <summary>Copies <paramref name="source"/> to a file in <paramref name="folder"/> whose name is the given bytes (any bytes but '/' and NUL).</summary>
    public static void CopyToRawName(string source, string folder, byte[] name)
    {
        string temporary = Path.Combine(folder, "raw-name-in-progress");
        File.Copy(source, temporary);
        var from = NullTerminated(Encoding.UTF8.GetBytes(temporary));
        var to = NullTerminated(Encoding.UTF8.GetBytes(folder + "/").Concat(name).ToArray());
        if (Rename(from, to) != 0) throw new IOException($"rename to a raw name failed (errno {Marshal.GetLastPInvokeError()}).");
    }

    /// <summary>Deletes a folder tree without following links, whatever its names (rm -rf: .NET cannot open names that are not UTF-8).</summary>
    public static void DeleteTree(string folder)
    {
        if (!Directory.Exists(folder)) return;
        using var rm = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("rm", new[] { "-rf", "--", folder }) { UseShellExecute = false })!;
        rm.WaitForExit();
    }

    private static byte[] NullTerminated(byte[] bytes) => bytes.Append((byte)0).ToArray();

    [DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static extern int Rename(byte[] from, byte[] to);

    private static byte[] Deflate(byte[] data)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(data);
        return compressed.ToArray();
    }

    private static void WritePng(string path, int width, int height, byte[] idat)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;   // bits per sample; colour type 0 (grey), compression, filter and interlace 0
        using var file = File.Create(path);
        file.Write(Signature);
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", idat);
        Chunk(file, "IEND", Array.Empty<byte>());
    }

    /// <summary>PNG's CRC-32 (ISO 3309, reflected polynomial 0xEDB88320).</summary>
    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        stream.Write(number);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        stream.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(number, Crc32(typed));
        stream.Write(number);
    }
}
