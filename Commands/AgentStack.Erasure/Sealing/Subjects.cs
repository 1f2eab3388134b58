using System.Text;
using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Erasure.Sealing;

/// <summary>
/// A span's subject (docs/architecture.md contract, docs/privacy.md): its <c>agentstack.subject</c> attribute,
/// else <c>user.id</c>, else <c>session.id</c>; keys of the span's flat <c>attributes</c> object, as the
/// native JSON and the OTLP mapping write them. String values are taken as they are, numbers as their JSON
/// text; other values and empty strings do not name a subject.
/// </summary>
public static class Subjects
{
    public const string SubjectAttribute = "agentstack.subject";
    public const string UserId = "user.id";
    public const string SessionId = "session.id";

    public static string? Of(ReadOnlySpan<byte> attributes)
    {
        if (attributes.IsEmpty)
            return null;
        string? subject = null, user = null, session = null;
        var reader = new Utf8JsonReader(attributes);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var which = reader.ValueTextEquals(SubjectAttribute) ? 0 : reader.ValueTextEquals(UserId) ? 1 : reader.ValueTextEquals(SessionId) ? 2 : -1;
            reader.Read();
            if (which >= 0)
            {
                var value = reader.TokenType switch
                {
                    JsonTokenType.String => LoneSurrogates.Text(ref reader), // an escaped lone surrogate as U+FFFD: GetString threw
                    JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                    _ => null,
                };
                if (string.IsNullOrEmpty(value))
                    value = null;
                switch (which)
                {
                    case 0: subject ??= value; break;
                    case 1: user ??= value; break;
                    default: session ??= value; break;
                }
            }
            reader.Skip();
        }
        return subject ?? user ?? session;
    }
}
