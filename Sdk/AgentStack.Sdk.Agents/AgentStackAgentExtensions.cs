namespace Microsoft.Agents.AI;

/// <summary>One line to trace Microsoft Agent Framework agents with AgentStack.</summary>
public static class AgentStackAgentExtensions
{
    /// <summary>Wraps the agent being built in an <see cref="AgentStackAgent"/>.</summary>
    /// <param name="builder">The agent builder (<c>agent.AsBuilder()</c>).</param>
    /// <param name="capturePayloads">Record messages, tool arguments and results (default).</param>
    /// <returns>The builder.</returns>
    public static AIAgentBuilder UseAgentStack(this AIAgentBuilder builder, bool capturePayloads = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use(inner => new AgentStackAgent(inner, capturePayloads));
    }

    /// <summary>Wraps <paramref name="agent"/> in an <see cref="AgentStackAgent"/>.</summary>
    /// <param name="agent">The agent to trace.</param>
    /// <param name="capturePayloads">Record messages, tool arguments and results (default).</param>
    /// <returns>The traced agent.</returns>
    public static AIAgent WithAgentStack(this AIAgent agent, bool capturePayloads = true)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent as AgentStackAgent ?? new AgentStackAgent(agent, capturePayloads);
    }
}
