using Microsoft.Extensions.AI;

namespace AgentStack.Sdk.Replaying;

/// <summary><c>builder.UseAgentStackReplay(replay)</c>: answers model calls from a recording (issue 16).</summary>
public static class AgentStackReplayChatClientBuilderExtensions
{
    /// <summary>
    /// Answers the recorded prefix's model calls from <paramref name="replay"/> and the rest from the inner (live) model.
    /// Add it last (closest to the model), after <c>UseAgentStack()</c>, so replayed calls are recorded in the new trace too.
    /// </summary>
    /// <param name="builder">The chat client builder.</param>
    /// <param name="replay">The replay session shared with the tool interceptor.</param>
    /// <returns>The builder.</returns>
    public static ChatClientBuilder UseAgentStackReplay(this ChatClientBuilder builder, AgentStackReplay replay)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(replay);
        return builder.Use(inner => new ReplayingChatClient(inner, replay));
    }
}
