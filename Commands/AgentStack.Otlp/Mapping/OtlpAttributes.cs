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
    private readonly Dictionary<string, AnyValue> values = new(StringComparer.Ordinal);
    private readonly List<string> order = [];
    private readonly HashSet<string> consumed = new(StringComparer.Ordinal);

    public OtlpAttributes(RepeatedField<KeyValue> attributes)
    {
        foreach (var kv in attributes)
        {
            if (!values.ContainsKey(kv.Key))
                order.Add(kv.Key);
            values[kv.Key] = kv.Value ?? new AnyValue();
        }
    }

    public IEnumerable<string> Keys => order;

    public bool Has(string key) => values.ContainsKey(key);

    public AnyValue? Get(string key) => values.GetValueOrDefault(key);

    public string? String(string key) => values.TryGetValue(key, out var v) ? AsString(v) : null;

    public long? Long(string key) => values.TryGetValue(key, out var v) ? AsLong(v) : null;

    public decimal? Decimal(string key) => values.TryGetValue(key, out var v) ? AsDecimal(v) : null;

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

    public void Consume(string key) => consumed.Add(key);

    public void ConsumeWhere(Func<string, bool> predicate)
    {
        foreach (var key in order)
            if (predicate(key))
                consumed.Add(key);
    }

    public bool IsConsumed(string key) => consumed.Contains(key);

    /// <summary>Keys starting with <paramref name="prefix"/>, e.g. <c>gen_ai.prompt.</c>.</summary>
    public bool AnyWithPrefix(string prefix) => order.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>
    /// Groups indexed keys <c>{prefix}{N}.{rest}</c> by N, in index order: <c>gen_ai.prompt.0.role</c> →
    /// item 0, key <c>role</c>. The keys read are marked consumed when <paramref name="consume"/>.
    /// </summary>
    public SortedDictionary<int, Dictionary<string, AnyValue>> Indexed(string prefix, bool consume = true) =>
        IndexedFrom(order.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Select(k => (k, values[k])), prefix,
            consume ? consumed : null);

    public static SortedDictionary<int, Dictionary<string, AnyValue>> IndexedFrom(
        IEnumerable<(string Key, AnyValue Value)> entries, string prefix, HashSet<string>? consumedKeys = null)
    {
        var items = new SortedDictionary<int, Dictionary<string, AnyValue>>();
        foreach (var (key, value) in entries)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            var rest = key.AsSpan(prefix.Length);
            var dot = rest.IndexOf('.');
            if (dot <= 0 || !int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                continue;
            if (!items.TryGetValue(index, out var item))
                items[index] = item = new Dictionary<string, AnyValue>(StringComparer.Ordinal);
            item[rest[(dot + 1)..].ToString()] = value;
            consumedKeys?.Add(key);
        }
        return items;
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

    /// <summary>Key-value pairs as one JSON object; a repeated key keeps its last value.</summary>
    public static void WriteObject(Utf8JsonWriter w, RepeatedField<KeyValue> pairs)
    {
        w.WriteStartObject();
        foreach (var kv in Deduplicate(pairs))
        {
            w.WritePropertyName(kv.Key);
            Write(w, kv.Value);
        }
        w.WriteEndObject();
    }

    public static IEnumerable<KeyValue> Deduplicate(RepeatedField<KeyValue> pairs)
    {
        if (pairs.Count < 2)
            return pairs;
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < pairs.Count; i++)
            last[pairs[i].Key] = i;
        return last.Count == pairs.Count ? pairs : pairs.Where((kv, i) => last[kv.Key] == i);
    }
}
