using AgentStack.Sdk.Guarding;
using AgentStack.Sdk.SemanticKernel;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.SemanticKernel;

/// <summary>One line to screen a kernel's prompts and tool results with the AgentStack guard.</summary>
public static class AgentStackGuardKernelExtensions
{
    /// <summary>Registers <see cref="AgentStackGuardFilter"/> as prompt render and function invocation filter.</summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="guard">The guard client.</param>
    /// <returns>The builder.</returns>
    public static IKernelBuilder AddAgentStackGuard(this IKernelBuilder builder, AgentStackGuard guard)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var filter = new AgentStackGuardFilter(guard);
        builder.Services.AddSingleton<IPromptRenderFilter>(filter);
        builder.Services.AddSingleton<IFunctionInvocationFilter>(filter);
        return builder;
    }
}
