using AgentStack.Sdk.Guarding;

namespace Microsoft.Extensions.AI;

/// <summary>
/// Opt-in screening for Microsoft.Extensions.AI pipelines (issue 15): before each call, the newest user
/// message and every tool result since the last assistant message go through the AgentStack guard; a
/// block throws <see cref="PromptInjectionBlockedException"/> and the model is not called.
/// </summary>
public sealed class AgentStackGuardChatClient(IChatClient inner, AgentStackGuard guard) : DelegatingChatClient(inner)
{
    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        await ScreenAsync(list, cancellationToken).ConfigureAwait(false);
        return await base.GetResponseAsync(list, options, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        await ScreenAsync(list, cancellationToken).ConfigureAwait(false);
        await foreach (var update in base.GetStreamingResponseAsync(list, options, cancellationToken).ConfigureAwait(false))
            yield return update;
    }

    private async Task ScreenAsync(IList<ChatMessage> messages, CancellationToken ct)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            var message = messages[i];
            if (message.Role == ChatRole.Assistant && !message.Contents.OfType<FunctionCallContent>().Any())
                break;
            foreach (var result in message.Contents.OfType<FunctionResultContent>())
                if (result.Result?.ToString() is { Length: > 0 } output)
                    await guard.EnsureAllowedAsync(output, GuardRoles.ToolOutput, ct).ConfigureAwait(false);
            if (message.Role == ChatRole.User && message.Text is { Length: > 0 } text)
            {
                await guard.EnsureAllowedAsync(text, GuardRoles.UserInput, ct).ConfigureAwait(false);
                break;
            }
        }
    }
}

/// <summary><c>builder.UseAgentStackGuard(guard)</c>.</summary>
public static class AgentStackGuardChatClientBuilderExtensions
{
    /// <summary>Screens user input and tool results through <paramref name="guard"/> before each model call.</summary>
    /// <param name="builder">The chat client builder.</param>
    /// <param name="guard">The guard client.</param>
    /// <returns>The builder.</returns>
    public static ChatClientBuilder UseAgentStackGuard(this ChatClientBuilder builder, AgentStackGuard guard)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(guard);
        return builder.Use(inner => new AgentStackGuardChatClient(inner, guard));
    }
}
