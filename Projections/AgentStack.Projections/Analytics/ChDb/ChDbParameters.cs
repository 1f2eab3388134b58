using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentStack.Projections.Analytics.ChDb;

/// <summary>
/// Turns .NET values into the text chdb_query_with_params binds to <c>{name:Type}</c>. The engine
/// parses a scalar with ClickHouse's escaped-text reader (as in TabSeparated): a backslash starts an
/// escape, a raw tab or newline ends the value (error 457) and <c>\N</c> is NULL. An array is parsed
/// as a literal, <c>['a','b']</c>, with quoted elements and no outer escaping (both measured on 26.7.3).
/// </summary>
internal static partial class ChDbParameters
{
    private const string Null = "\\N";

    public static List<(byte[] Name, byte[] Value)> Encode(string sql, IReadOnlyDictionary<string, object?> parameters)
    {
        var encoded = new List<(byte[], byte[])>(parameters.Count);
        foreach (var (name, value) in parameters)
        {
            if (!Identifier().IsMatch(name))
            {
                throw new ArgumentException($"Query parameter name '{name}' is not an identifier.", nameof(parameters));
            }

            var text = Format(name, value, PlaceholderType(sql, name));
            encoded.Add((Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(text)));
        }

        return encoded;
    }

    /// <summary>The escaped-text form of one value for a placeholder of type <paramref name="type"/> (null when the SQL does not use it).</summary>
    public static string Format(string name, object? value, string? type) => value switch
    {
        null or DBNull => Null,
        string s => Escape(s),
        char c => Escape(c.ToString()),
        Enum e => Escape(e.ToString()),
        IEnumerable sequence => Array(name, sequence, ElementType(type)),
        _ => Scalar(name, value, type, quoted: false),
    };

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z")]
    internal static partial Regex Identifier();

    private static string Scalar(string name, object value, string? type, bool quoted) => value switch
    {
        bool b => b ? "true" : "false",
        double d => FloatingPoint(d),
        float f => FloatingPoint(f),
        decimal or sbyte or byte or short or ushort or int or uint or long or ulong or Int128 or UInt128 or System.Numerics.BigInteger =>
            ((IFormattable)value).ToString(null, CultureInfo.InvariantCulture),
        DateTimeOffset dto => Text(DateTime(dto.UtcDateTime, type), quoted),
        DateTime dt => Text(DateTime(dt.Kind == DateTimeKind.Local ? dt.ToUniversalTime() : dt, type), quoted),
        DateOnly date => Text(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), quoted),
        Guid guid => Text(guid.ToString("D"), quoted),
        string s => Text(s, quoted),
        char c => Text(c.ToString(), quoted),
        Enum e => Text(e.ToString(), quoted),
        _ => throw new ArgumentException(
            $"Query parameter '{name}' has type {value.GetType().Name}, which has no ClickHouse text form here.", name),
    };

    /// <summary>
    /// DateTime64 takes fractional seconds but DateTime and Date refuse them ("isn't parsed completely"),
    /// so the placeholder's declared type picks the form; the default keeps microseconds. The text is the UTC wall
    /// clock, which the engine reads in the placeholder's zone, or its own when the type names none: placeholders
    /// name 'UTC' (<c>{from:DateTime64(6, 'UTC')}</c>).
    /// </summary>
    private static string DateTime(DateTime utc, string? type)
    {
        var baseType = Unwrap(type);
        var format = baseType switch
        {
            not null when baseType.StartsWith("DateTime64", StringComparison.Ordinal) => "yyyy-MM-dd HH:mm:ss.ffffff",
            not null when baseType.StartsWith("DateTime", StringComparison.Ordinal) => "yyyy-MM-dd HH:mm:ss",
            not null when baseType.StartsWith("Date", StringComparison.Ordinal) => "yyyy-MM-dd",
            _ => "yyyy-MM-dd HH:mm:ss.ffffff",
        };
        return utc.ToString(format, CultureInfo.InvariantCulture);
    }

    private static string FloatingPoint(double value) => value switch
    {
        double.NaN => "nan",
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string Array(string name, IEnumerable sequence, string? elementType)
    {
        var builder = new StringBuilder("[");
        var first = true;
        foreach (var element in sequence)
        {
            if (!first)
            {
                builder.Append(',');
            }

            first = false;
            builder.Append(element switch
            {
                null or DBNull => "NULL",
                string s => Quote(s),
                IEnumerable nested => Array(name, nested, ElementType(elementType)),
                _ => Scalar(name, element, elementType, quoted: true),
            });
        }

        return builder.Append(']').ToString();
    }

    private static string Text(string value, bool quoted) => quoted ? Quote(value) : Escape(value);

    /// <summary>Escaped-text form: only what that reader treats specially.</summary>
    private static string Escape(string value)
    {
        if (value.AsSpan().IndexOfAny("\\\t\n\r\0") < 0)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            builder.Append(c switch
            {
                '\\' => "\\\\",
                '\t' => "\\t",
                '\n' => "\\n",
                '\r' => "\\r",
                '\0' => "\\0",
                _ => c.ToString(),
            });
        }

        return builder.ToString();
    }

    /// <summary>A single-quoted ClickHouse string literal.</summary>
    private static string Quote(string value) =>
        "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    /// <summary>The type written in the first <c>{name:Type}</c> placeholder for <paramref name="name"/>, if any.</summary>
    private static string? PlaceholderType(string sql, string name)
    {
        var marker = "{" + name + ":";
        var start = sql.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        // Types nest parentheses but never braces, so the placeholder ends at the next '}'.
        var end = sql.IndexOf('}', start);
        return end < 0 ? null : sql[(start + marker.Length)..end].Trim();
    }

    private static string? Unwrap(string? type)
    {
        while (type is not null)
        {
            var open = type.IndexOf('(', StringComparison.Ordinal);
            var head = open < 0 ? type : type[..open];
            if (head is not ("Nullable" or "LowCardinality"))
            {
                return type;
            }

            type = type[(open + 1)..^1].Trim();
        }

        return null;
    }

    private static string? ElementType(string? arrayType)
    {
        var type = Unwrap(arrayType);
        return type is not null && type.StartsWith("Array(", StringComparison.Ordinal) && type.EndsWith(')')
            ? type["Array(".Length..^1].Trim()
            : null;
    }
}
