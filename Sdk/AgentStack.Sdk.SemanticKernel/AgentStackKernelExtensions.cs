using AgentStack.Sdk.SemanticKernel;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.SemanticKernel;

/// <summary>One line to trace Semantic Kernel with AgentStack.</summary>
public static class AgentStackKernelExtensions
{
    /// <summary>Registers <see cref="AgentStackKernelFilter"/> as function invocation, prompt render and auto function invocation filter.</summary>
    /// <param name="builder">The kernel builder.</param>
    /// <returns>The builder.</returns>
    public static IKernelBuilder AddAgentStack(this IKernelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var filter = new AgentStackKernelFilter();
        builder.Services.AddSingleton<IFunctionInvocationFilter>(filter);
        builder.Services.AddSingleton<IPromptRenderFilter>(filter);
        builder.Services.AddSingleton<IAutoFunctionInvocationFilter>(filter);
        return builder;
    }

    /// <summary>Adds <see cref="AgentStackKernelFilter"/> to an existing kernel's three filter lists.</summary>
    /// <param name="kernel">The kernel.</param>
    /// <returns>The kernel.</returns>
    public static Kernel UseAgentStack(this Kernel kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var filter = new AgentStackKernelFilter();
        kernel.FunctionInvocationFilters.Add(filter);
        kernel.PromptRenderFilters.Add(filter);
        kernel.AutoFunctionInvocationFilters.Add(filter);
        return kernel;
    }
}
