using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace AgentStack.Commands.Spans.Ingesting;

/// <summary>
/// JSON text is UTF-8 (RFC 8259 §8.1). System.Text.Json only transcodes a string when it is read, so invalid bytes
/// in a property name it never reads (an attribute key) or in a value kept as raw JSON (input, output) would
/// otherwise fail late (a 500) or be stored and served back as invalid JSON (issue 17, item 5). Every JSON
/// ingestion endpoint checks the whole body here first, through <see cref="IngestBody.ReadAsync"/>.
/// </summary>
public static class JsonText
{
    /// <summary>Null when <paramref name="json"/> is valid UTF-8; else the JSON path and a sentence naming the byte offset.</summary>
    public static (string Field, string Detail)? FindInvalidUtf8(ReadOnlySpan<byte> json)
    {
        if (Utf8.IsValid(json))
            return null;
        var offset = FirstInvalidByte(json);
        var (path, inName) = PathAt(json[..offset]);
        // "$.spans[0]" names "spans[0]"; a body that is an array, "$[0]", names "[0]".
        var field = path == "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path[1..];
        var where = path == "$" ? "" : inName ? $" (in a property name of {field})" : $" (in {field})";
        return (field, $"the body is not valid UTF-8: invalid byte 0x{json[offset]:X2} at byte offset {offset}{where}");
    }

    private static int FirstInvalidByte(ReadOnlySpan<byte> json)
    {
        Span<char> scratch = stackalloc char[1024];
        var at = 0;
        while (true)
        {
            var status = Utf8.ToUtf16(json[at..], scratch, out var read, out _, replaceInvalidSequences: false);
            at += read;
            if (status == OperationStatus.DestinationTooSmall)
                continue;
            return Math.Min(at, json.Length - 1);
        }
    }

    /// <summary>
    /// Where the token holding byte <c>prefix.Length</c> sits: the reader walks the valid prefix (a partial final
    /// token is left unread), tracking containers, array indexes and the last property name.
    /// </summary>
    private static (string Path, bool InName) PathAt(ReadOnlySpan<byte> prefix)
    {
        var frames = new List<Frame>();
        var afterName = false;
        var reader = new Utf8JsonReader(prefix, isFinalBlock: false, new JsonReaderState(new JsonReaderOptions { MaxDepth = 100_000 }));
        try
        {
            while (reader.Read())
            {
                var top = frames.Count > 0 ? frames[^1] : null;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        frames.Add(new Frame(top, Step(top), reader.TokenType == JsonTokenType.StartArray));
                        if (top is { IsArray: true })
                            top.Count++;
                        afterName = false;
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        afterName = false;
                        break;
                    case JsonTokenType.PropertyName:
                        top!.Name = Encoding.UTF8.GetString(reader.ValueSpan.Length > 64 ? reader.ValueSpan[..64] : reader.ValueSpan);
                        afterName = true;
                        break;
                    default:
                        if (top is { IsArray: true })
                            top.Count++;
                        afterName = false;
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed before the bad byte: the path found so far is the best answer.
        }
        var last = frames.Count > 0 ? frames[^1] : null;
        if (last is null)
            return ("$", false);
        if (last.IsArray || afterName)
            return (last.Path + Step(last), false);
        return (last.Path, true);
    }

    /// <summary>The step from <paramref name="parent"/> to the value being read in it.</summary>
    private static string Step(Frame? parent) => parent switch
    {
        null => "$",
        { IsArray: true } => $"[{parent.Count}]",
        _ => $".{parent.Name}",
    };

    /// <summary>
    /// One open container: its step from its parent, not its whole path, which is joined only for the answer (each
    /// level's whole path, kept while reading, made a body of n nested arrays build some n² characters).
    /// </summary>
    private sealed class Frame(Frame? parent, string step, bool isArray)
    {
        private readonly Frame? parent = parent;
        private readonly string step = step;

        public string Path
        {
            get
            {
                var steps = new Stack<string>();
                for (var frame = this; frame is not null; frame = frame.parent)
                    steps.Push(frame.step);
                return string.Concat(steps);
            }
        }

        public bool IsArray { get; } = isArray;
        public int Count { get; set; }
        public string? Name { get; set; }
    }
}
