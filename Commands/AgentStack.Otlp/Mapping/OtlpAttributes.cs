using System.Globalization;
using System.Text.Json;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;

namespace AgentStack.Otlp.Mapping;

/// <summary>
/// A span's (or event's) attributes by key, in the order received. OTLP requires unique keys; when a
/// sender repeats one anyway the last value wins, as the OpenTelemetry SDKs do. The mapper marks
/// what it moved into a first-class field as consumed; everything else is written to
/// <c>attributes</c> (issue 5: nothing dropped).
/// </summary>
internal sealed class OtlpAttributes
{
    // Spans carry a handful of attributes and the conventions look up a few dozen names per span, so a linear scan
    // over arrays beats hashing each name (issue 5, OTLP throughput); a dictionary indexes only a long list, so a
    // sender's thousands of attributes still cost linear, not quadratic, time.
    private const int IndexAbove = 16;
    private readonly string[] keys;
    private readonly AnyValue[] values;
    private readonly bool[] consumed;
    private readonly Dictionary<string, int>? index;
    private readonly int count;

    public OtlpAttributes(RepeatedField<KeyValue> attributes)
    {
        keys = attributes.Count == 0 ? [] : new string[attributes.Count];
        values = attributes.Count == 0 ? [] : new AnyValue[attributes.Count];
        if (attributes.Count > IndexAbove)
            index = new Dictionary<string, int>(attributes.Count, StringComparer.Ordinal);
        // An index loop: RepeatedField's enumerator is a class, allocated per foreach.
        for (var k = 0; k < attributes.Count; k++)
        {
            var kv = attributes[k];
            var at = IndexOf(kv.Key);
            if (at < 0)
            {
                at = count++;
                keys[at] = kv.Key;
                index?.Add(kv.Key, at);
            }
            values[at] = kv.Value ?? new AnyValue();
        }
        consumed = count == 0 ? [] : new bool[count];
    }

    private int IndexOf(string key)
    {
        if (index is not null)
            return index.TryGetValue(key, out var i) ? i : -1;
        for (var i = 0; i < count; i++)
            if (string.Equals(keys[i], key, StringComparison.Ordinal))
                return i;
        return -1;
    }

    /// <summary>How many distinct keys; <see cref="KeyAt"/>, <see cref="ValueAt"/> and <see cref="IsConsumedAt"/>
    /// read them in the order received.</summary>
    public int Count => count;

    public string KeyAt(int i) => keys[i];

    public AnyValue ValueAt(int i) => values[i];

    public bool IsConsumedAt(int i) => consumed[i];

    public IEnumerable<string> Keys => keys.Take(count);

    public bool Has(string key) => IndexOf(key) >= 0;

    public AnyValue? Get(string key) => IndexOf(key) is var i and >= 0 ? values[i] : null;

    public string? String(string key) => IndexOf(key) is var i and >= 0 ? AsString(values[i]) : null;

    public long? Long(string key) => IndexOf(key) is var i and >= 0 ? AsLong(values[i]) : null;

    public decimal? Decimal(string key) => IndexOf(key) is var i and >= 0 ? AsDecimal(values[i]) : null;

    /// <summary>The first of <paramref name="keys"/> that is present, as a string.</summary>
    public string? FirstString(params ReadOnlySpan<string> keys)
    {
        foreach (var key in keys)
            if (String(key) is { Length: > 0 } s)
                return s;
        return null;
    }

    public long? FirstLong(params ReadOnlySpan<string> keys)
    {
        foreach (var key in keys)
            if (Long(key) is { } l)
                return l;
        return null;
    }

    public decimal? FirstDecimal(params ReadOnlySpan<string> keys)
    {
        foreach (var key in keys)
            if (Decimal(key) is { } d)
                return d;
        return null;
    }

    public void Consume(string key)
    {
        if (IndexOf(key) is var i and >= 0)
            consumed[i] = true;
    }

    public bool IsConsumed(string key) => IndexOf(key) is var i and >= 0 && consumed[i];

    /// <summary>Keys starting with <paramref name="prefix"/>, e.g. <c>gen_ai.prompt.</c>.</summary>
    public bool AnyWithPrefix(string prefix)
    {
        for (var i = 0; i < count; i++)
            if (keys[i].StartsWith(prefix, StringComparison.Ordinal))
                return true;
        return false;
    }

    /// <summary>
    /// Groups indexed keys <c>{prefix}{N}.{rest}</c> by N, in index order: <c>gen_ai.prompt.0.role</c> →
    /// item 0, key <c>role</c>. The keys read are marked consumed when <paramref name="consume"/>.
    /// </summary>
    public SortedDictionary<int, Dictionary<string, AnyValue>> Indexed(string prefix, bool consume = true)
    {
        var entries = new List<(string, AnyValue)>();
        for (var i = 0; i < count; i++)
            if (keys[i].StartsWith(prefix, StringComparison.Ordinal))
                entries.Add((keys[i], values[i]));
        var items = IndexedFrom(entries, prefix);
        if (consume)
            foreach (var (key, _) in entries)
                if (IsIndexedKey(key, prefix))
                    Consume(key);
        return items;
    }

    public static SortedDictionary<int, Dictionary<string, AnyValue>> IndexedFrom(
        IEnumerable<(string Key, AnyValue Value)> entries, string prefix)
    {
        var items = new SortedDictionary<int, Dictionary<string, AnyValue>>();
        foreach (var (key, value) in entries)
        {
            if (!TrySplitIndexed(key, prefix, out var index, out var rest))
                continue;
            if (!items.TryGetValue(index, out var item))
                items[index] = item = new Dictionary<string, AnyValue>(StringComparer.Ordinal);
            item[rest.ToString()] = value;
        }
        return items;
    }

    private static bool IsIndexedKey(string key, string prefix) => TrySplitIndexed(key, prefix, out _, out _);

    private static bool TrySplitIndexed(string key, string prefix, out int index, out ReadOnlySpan<char> rest)
    {
        index = 0;
        rest = default;
        if (!key.StartsWith(prefix, StringComparison.Ordinal))
            return false;
        var after = key.AsSpan(prefix.Length);
        var dot = after.IndexOf('.');
        if (dot <= 0 || !int.TryParse(after[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out index))
            return false;
        rest = after[(dot + 1)..];
        return true;
    }

    public static string? AsString(AnyValue v) => v.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => v.StringValue,
        AnyValue.ValueOneofCase.IntValue => v.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => v.DoubleValue.ToString("R", CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BoolValue => v.BoolValue ? "true" : "false",
        _ => null,
    };

    public static long? AsLong(AnyValue v) => v.ValueCase switch
    {
        AnyValue.ValueOneofCase.IntValue => v.IntValue,
        AnyValue.ValueOneofCase.DoubleValue when double.IsFinite(v.DoubleValue) && v.DoubleValue == Math.Floor(v.DoubleValue)
            && Math.Abs(v.DoubleValue) < 9e15 => (long)v.DoubleValue,
        AnyValue.ValueOneofCase.StringValue when long.TryParse(v.StringValue, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
        _ => null,
    };

    public static decimal? AsDecimal(AnyValue v) => v.ValueCase switch
    {
        AnyValue.ValueOneofCase.IntValue => v.IntValue,
        AnyValue.ValueOneofCase.DoubleValue when double.IsFinite(v.DoubleValue) && Math.Abs(v.DoubleValue) < 1e15 => (decimal)v.DoubleValue,
        AnyValue.ValueOneofCase.StringValue when decimal.TryParse(v.StringValue, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    /// <summary>
    /// Writes an OTLP value as JSON: strings, booleans and numbers as themselves, int64 as a number,
    /// bytes as base64, arrays as arrays, key-value lists as objects. Non-finite doubles become the
    /// strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers).
    /// </summary>
    public static void Write(Utf8JsonWriter w, AnyValue? v)
    {
        switch (v?.ValueCase ?? AnyValue.ValueOneofCase.None)
        {
            case AnyValue.ValueOneofCase.StringValue: w.WriteStringValue(v!.StringValue); break;
            case AnyValue.ValueOneofCase.BoolValue: w.WriteBooleanValue(v!.BoolValue); break;
            case AnyValue.ValueOneofCase.IntValue: w.WriteNumberValue(v!.IntValue); break;
            case AnyValue.ValueOneofCase.DoubleValue:
                if (double.IsFinite(v!.DoubleValue))
                    w.WriteNumberValue(v.DoubleValue);
                else
                    w.WriteStringValue(v.DoubleValue.ToString(CultureInfo.InvariantCulture));
                break;
            case AnyValue.ValueOneofCase.BytesValue: w.WriteBase64StringValue(v!.BytesValue.Span); break;
            case AnyValue.ValueOneofCase.ArrayValue:
                w.WriteStartArray();
                foreach (var item in v!.ArrayValue.Values)
                    Write(w, item);
                w.WriteEndArray();
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                WriteObject(w, v!.KvlistValue.Values);
                break;
            default: w.WriteNullValue(); break;
        }
    }

    /// <summary>Key-value pairs as one JSON object; a repeated key keeps its last value, at its last place.</summary>
    public static void WriteObject(Utf8JsonWriter w, RepeatedField<KeyValue> pairs)
    {
        w.WriteStartObject();
        if (pairs.Count <= IndexAbove)
        {
            // Without a dictionary per object: these are written for every span (events, links, scope attributes).
            for (var i = 0; i < pairs.Count; i++)
            {
                if (RepeatedLater(pairs, i))
                    continue;
                w.WritePropertyName(pairs[i].Key);
                Write(w, pairs[i].Value);
            }
        }
        else
        {
            foreach (var kv in Deduplicate(pairs))
            {
                w.WritePropertyName(kv.Key);
                Write(w, kv.Value);
            }
        }
        w.WriteEndObject();
    }

    private static bool RepeatedLater(RepeatedField<KeyValue> pairs, int i)
    {
        var key = pairs[i].Key;
        for (var j = i + 1; j < pairs.Count; j++)
            if (string.Equals(pairs[j].Key, key, StringComparison.Ordinal))
                return true;
        return false;
    }

    private static IEnumerable<KeyValue> Deduplicate(RepeatedField<KeyValue> pairs)
    {
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < pairs.Count; i++)
            last[pairs[i].Key] = i;
        return last.Count == pairs.Count ? pairs : pairs.Where((kv, i) => last[kv.Key] == i);
    }
}
