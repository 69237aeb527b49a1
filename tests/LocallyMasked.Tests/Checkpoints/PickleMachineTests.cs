using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using LocallyMasked.Checkpoints.Pickles;

namespace LocallyMasked.Tests.Checkpoints;

/// <summary>
/// The checkpoint reader's pickle machine against Python's own pickle module: every value of
/// Fixtures/make_pickle_fixtures.py, pickled in every protocol from 0 to 5, reads back as Python wrote it (types and
/// values exactly, shared references and cycles as references), and the machine's limits refuse what goes beyond them.
/// </summary>
public class PickleMachineTests
{
    private static string Fixture(string name, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", name);

    private static object? Load(byte[] pickle, int maxDepth = 100, long maxValues = 1_000_000, long maxBytes = 1 << 24) =>
        PickleMachine.Load(new PickleInput(new MemoryStream(pickle), maxBytes), null, maxDepth, maxValues);

    public static TheoryData<int> Protocols() => new() { 0, 1, 2, 3, 4, 5 };

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Every_value_reads_back_as_Python_pickled_it(int protocol)
    {
        using var fixture = JsonDocument.Parse(File.ReadAllText(Fixture("pickles.json")));
        int checkedValues = 0;
        foreach (var entry in fixture.RootElement.GetProperty("entries").EnumerateArray())
        {
            if (entry.GetProperty("protocol").GetInt32() != protocol || entry.GetProperty("expected").ValueKind == JsonValueKind.Null) continue;
            string name = entry.GetProperty("name").GetString()!;
            var value = Load(Convert.FromBase64String(entry.GetProperty("pickle").GetString()!));
            var expected = JsonNode.Parse(entry.GetProperty("expected").GetRawText())!;
            var actual = Encode(value);
            JsonNode.DeepEquals(Canonical(actual), Canonical(expected)).Should().BeTrue(
                $"protocol {protocol}, '{name}': expected {expected.ToJsonString()[..Math.Min(300, expected.ToJsonString().Length)]}, got {actual.ToJsonString()[..Math.Min(300, actual.ToJsonString().Length)]}");
            checkedValues++;
        }
        checkedValues.Should().BeGreaterThan(10);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Shared_references_and_cycles_are_kept_as_references(int protocol)
    {
        using var fixture = JsonDocument.Parse(File.ReadAllText(Fixture("pickles.json")));
        object? Read(string name) => Load(Convert.FromBase64String(fixture.RootElement.GetProperty("entries").EnumerateArray()
            .Single(e => e.GetProperty("name").GetString() == name && e.GetProperty("protocol").GetInt32() == protocol).GetProperty("pickle").GetString()!));

        var shared = Read("shared").Should().BeOfType<PickleList>().Subject;
        shared[0].Should().BeSameAs(shared[1]);
        var cycle = Read("cycle").Should().BeOfType<PickleList>().Subject;
        cycle.Should().ContainSingle().Which.Should().BeSameAs(cycle);
        var cycle2 = Read("cycle2").Should().BeOfType<PickleList>().Subject;
        cycle2.Should().HaveCount(2).And.OnlyContain(item => ReferenceEquals(item, cycle2));
        // Printing a cycle ends, in a line.
        PickleText.Describe(cycle2).Should().Be("[[[[...], [...]], [[...], [...]]], [[[...], [...]], [[...], [...]]]]");
    }

    [Fact]
    public void The_depth_limit_refuses_a_nesting_one_level_beyond_it_and_accepts_it_at_the_limit()
    {
        byte[] Nested(int depth)
        {
            var bytes = new List<byte> { 0x80, 2 };
            for (int i = 0; i < depth; i++) bytes.Add((byte)']');
            for (int i = 1; i < depth; i++) bytes.Add((byte)'a');
            bytes.Add((byte)'.');
            return bytes.ToArray();
        }
        Load(Nested(10), maxDepth: 10).Should().BeOfType<PickleList>().Which.Height.Should().Be(9);
        Load(Nested(11), maxDepth: 10).Should().BeOfType<PickleList>();
        var refused = () => Load(Nested(12), maxDepth: 10);
        refused.Should().Throw<PickleLimitException>().Where(e => e.Limit == PickleLimit.Depth && e.Value == 10);
    }

    [Fact]
    public void The_value_and_byte_limits_refuse_what_goes_beyond_them_before_allocating_it()
    {
        var list = new List<byte> { 0x80, 2, (byte)']', (byte)'(' };
        for (int i = 0; i < 2000; i++) list.AddRange(new byte[] { (byte)'K', 7 });
        list.AddRange(new[] { (byte)'e', (byte)'.' });
        Load(list.ToArray()).Should().BeOfType<PickleList>().Which.Should().HaveCount(2000);
        var values = () => Load(list.ToArray(), maxValues: 1000);
        values.Should().Throw<PickleLimitException>().Where(e => e.Limit == PickleLimit.Values);
        var bytes = () => Load(list.ToArray(), maxBytes: 1024);
        bytes.Should().Throw<PickleLimitException>().Where(e => e.Limit == PickleLimit.Bytes);

        // A claimed length beyond what the stream holds is refused before the bytes are allocated.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var claim = () => Load(new byte[] { 0x80, 2, (byte)'X', 0xf0, 0xff, 0xff, 0x7f, (byte)'.' }, maxBytes: int.MaxValue);
        claim.Should().Throw<EndOfStreamException>().WithMessage("*claims 2147483632 bytes*holds only 1 more*");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20);
    }

    [Fact]
    public void Integers_of_every_size_read_exactly()
    {
        // LONG1 of 9 bytes: 2^64, which is no long.
        Load(new byte[] { 0x80, 2, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, (byte)'.' }).Should().Be(BigInteger.Pow(2, 64));
        Load(new byte[] { 0x80, 2, 0x8a, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, (byte)'.' }).Should().Be(long.MaxValue);
        Load(new byte[] { 0x80, 2, 0x8a, 1, 0xff, (byte)'.' }).Should().Be(-1L);
    }

    /// <summary>A value as make_pickle_fixtures.py encodes it.</summary>
    private static JsonNode Encode(object? value) => value switch
    {
        null or PickleNoneKey => new JsonArray("None"),
        bool b => new JsonArray("bool", b),
        long l => new JsonArray("int", l.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        BigInteger i => new JsonArray("int", i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        double d => new JsonArray("float", BitConverter.DoubleToInt64Bits(d).ToString("x16", System.Globalization.CultureInfo.InvariantCulture)),
        string s => new JsonArray("str", s),
        byte[] bytes => new JsonArray("bytes", Convert.ToBase64String(bytes)),
        PickleList list => new JsonArray("list", new JsonArray(list.Select(Encode).ToArray())),
        PickleTuple tuple => new JsonArray("tuple", new JsonArray(tuple.Select(Encode).ToArray())),
        PickleDict dict => new JsonArray("dict", new JsonArray(dict.Select(kv => (JsonNode)new JsonArray(Encode(kv.Key), Encode(kv.Value))).ToArray())),
        PickleSet set => new JsonArray("set", new JsonArray(set.Select(v => Encode(v)).ToArray())),
        PickleObject { Callable: PickleGlobal cls } o => new JsonArray("object", cls.ToString(), Encode(o.State)),
        _ => new JsonArray("unexpected", value.GetType().Name),
    };

    /// <summary>The encoding with the items of every set in one order (a set has none).</summary>
    private static JsonNode Canonical(JsonNode node)
    {
        if (node is not JsonArray array) return node.DeepClone();
        var items = array.Select(n => n is null ? null : Canonical(n)).ToList();
        if (items.Count == 2 && items[0] is JsonValue tag && tag.TryGetValue<string>(out var name) && name == "set" && items[1] is JsonArray set)
            items[1] = new JsonArray(set.Select(n => n!.DeepClone()).OrderBy(n => n.ToJsonString(), StringComparer.Ordinal).ToArray());
        return new JsonArray(items.ToArray());
    }
}
