using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace AgentStack.Events;

/// <summary>
/// Invalid UTF-8 in a JSON body (issue 17, item 5): System.Text.Json reads such bytes inside strings and property
/// names without complaint and fails only when it transcodes them (an unhandled exception, a 500), and payloads
/// kept as raw JSON would be stored and replayed as text that is not valid JSON. Ingestion checks with this
/// before it trusts a body, and answers 400 naming where the bad bytes are.
/// </summary>
public static class Utf8Text
{
    /// <summary>The offset of the first byte that is not part of well-formed UTF-8, or -1 when all of it is.</summary>
    public static int FirstInvalid(ReadOnlySpan<byte> text)
    {
        if (Utf8.IsValid(text))
            return -1;
        var offset = 0;
        while (offset < text.Length)
        {
            if (Rune.DecodeFromUtf8(text[offset..], out _, out var consumed) != OperationStatus.Done)
                return offset;
            offset += consumed;
        }
        return -1;
    }

    /// <summary>True when a parsed JSON value's own bytes (its strings and property names included) are well-formed UTF-8.</summary>
    public static bool IsValid(JsonElement value) =>
        value.ValueKind == JsonValueKind.Undefined || Utf8.IsValid(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value));
}
