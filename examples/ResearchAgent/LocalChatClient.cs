using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentStack.Examples.ResearchAgent;

/// <summary>
/// The demo's offline model: deterministic answers computed from the prompt, so the demo runs without a
/// key and every run of the same input produces the same spans. It is the application's model, not a
/// stand-in for AgentStack. It asks for the pricing tool once, summarises what it was given, and writes the
/// e-mail as JSON; <see cref="MalformNextEmail"/> makes the next e-mail answer broken JSON (an intentional failure).
/// </summary>
public sealed class LocalChatClient : IChatClient
{
    public const string ModelId = "agentstack-local-1";
    private static readonly ChatClientMetadata Metadata = new("agentstack-local", new Uri("local://model"), ModelId);
    private int malformNext;

    /// <summary>The next e-mail answer is truncated JSON, as real models sometimes answer.</summary>
    public void MalformNextEmail() => Interlocked.Exchange(ref malformNext, 1);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        var message = Answer(list, options);
        var response = new ChatResponse(message)
        {
            ModelId = ModelId,
            FinishReason = message.Contents.OfType<FunctionCallContent>().Any() ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop,
            Usage = Usage(list, message),
        };
        return Task.FromResult(response);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        var message = Answer(list, options);
        var text = message.Text;
        var words = text.Split(' ');
        for (var i = 0; i < words.Length; i += 4)
        {
            await Task.Yield();
            var chunk = string.Join(' ', words.Skip(i).Take(4)) + (i + 4 < words.Length ? " " : "");
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunk) { ModelId = ModelId, MessageId = "m1" };
        }
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ModelId = ModelId,
            MessageId = "m1",
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(Usage(list, message))],
        };
    }

    private ChatMessage Answer(List<ChatMessage> messages, ChatOptions? options)
    {
        // The task marker may come as a system message, as the agent's instructions, or inside a rendered prompt.
        var system = string.Join('\n', messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text))
            + '\n' + options?.Instructions + '\n' + messages.FirstOrDefault(m => m.Role == ChatRole.User)?.Text;
        var user = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        if (system.Contains("[task:summarize]", StringComparison.Ordinal))
            return Summarize(messages, options, user);
        if (system.Contains("[task:email]", StringComparison.Ordinal))
            return Email(user);
        return new ChatMessage(ChatRole.Assistant, "I can summarise research context and write e-mails.");
    }

    private static ChatMessage Summarize(List<ChatMessage> messages, ChatOptions? options, string user)
    {
        var results = messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToList();
        var product = Between(user, "Product: ", "\n") ?? "AgentStack";
        // Call the first tool once, filling each of its string parameters with the product name.
        if (results.Count == 0 && options?.Tools?.OfType<AIFunctionDeclaration>().FirstOrDefault() is { } tool)
        {
            var arguments = new Dictionary<string, object?>();
            if (tool.JsonSchema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in properties.EnumerateObject())
                    arguments[property.Name] = product;
            }
            var call = new FunctionCallContent($"call_{Math.Abs(StableHash(user)) % 100000:D5}", tool.Name, arguments);
            return new ChatMessage(ChatRole.Assistant, [call]);
        }
        var facts = user.Split('\n').Where(l => l.StartsWith("- ", StringComparison.Ordinal)).Select(l => l[2..].Trim()).Take(3).ToList();
        var pricing = results.Select(r => r.Result?.ToString() ?? "").FirstOrDefault() ?? "";
        var pricingLine = pricing.Contains("Error", StringComparison.OrdinalIgnoreCase) || pricing.Length == 0
            ? "Pricing could not be confirmed (the pricing service did not answer)."
            : $"Pricing: {pricing}.";
        var summary = new StringBuilder($"Summary for {product}: ");
        summary.AppendJoin(' ', facts.Select(f => f.EndsWith('.') ? f : f + "."));
        summary.Append(' ').Append(pricingLine);
        return new ChatMessage(ChatRole.Assistant, summary.ToString());
    }

    private ChatMessage Email(string user)
    {
        var summary = Between(user, "Summary: ", "\n") ?? user;
        var recipient = Between(user, "Recipient: ", "\n") ?? "customer";
        var email = JsonSerializer.Serialize(new
        {
            subject = "Your research summary",
            body = $"Hello {recipient},\n\n{summary}\n\nBest regards,\nThe research agent",
        });
        if (Interlocked.Exchange(ref malformNext, 0) == 1)
            email = email[..(email.Length / 2)];
        return new ChatMessage(ChatRole.Assistant, email);
    }

    private static UsageDetails Usage(List<ChatMessage> messages, ChatMessage answer)
    {
        long input = messages.Sum(m => Tokens(m.Text) + m.Contents.OfType<FunctionResultContent>().Sum(r => Tokens(r.Result?.ToString()) + 4));
        long output = Tokens(answer.Text) + answer.Contents.OfType<FunctionCallContent>().Count() * 12;
        return new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output };
    }

    /// <summary>About 4 characters a token, as for English text.</summary>
    private static long Tokens(string? text) => string.IsNullOrEmpty(text) ? 0 : (text.Length + 3) / 4;

    private static string? Between(string text, string start, string end)
    {
        var i = text.IndexOf(start, StringComparison.Ordinal);
        if (i < 0)
            return null;
        i += start.Length;
        var j = text.IndexOf(end, i, StringComparison.Ordinal);
        return (j < 0 ? text[i..] : text[i..j]).Trim();
    }

    internal static int StableHash(string text)
    {
        unchecked
        {
            var hash = (int)2166136261;
            foreach (var c in text)
                hash = (hash ^ c) * 16777619;
            return hash;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(ChatClientMetadata) ? Metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }
}
