using AgentStack.Sdk.Guarding;
using Microsoft.SemanticKernel;

namespace AgentStack.Sdk.SemanticKernel;

/// <summary>
/// Opt-in screening for Semantic Kernel (issue 15): every rendered prompt is screened as user input before
/// the model sees it, and every function result as a tool output before it goes back to the model. A
/// block throws <see cref="PromptInjectionBlockedException"/>. A streamed invocation's result is not screened: it is
/// the stream the caller reads (Semantic Kernel invokes tools for the model without streaming), and screening it
/// would mean holding it back until its end.
/// </summary>
/// <param name="guard">The guard client.</param>
public sealed class AgentStackGuardFilter(AgentStackGuard guard) : IPromptRenderFilter, IFunctionInvocationFilter
{
    /// <inheritdoc />
    public async Task OnPromptRenderAsync(PromptRenderContext context, Func<PromptRenderContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        await next(context).ConfigureAwait(false);
        if (context.RenderedPrompt is { Length: > 0 } prompt)
            await guard.EnsureAllowedAsync(prompt, GuardRoles.UserInput, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task OnFunctionInvocationAsync(FunctionInvocationContext context, Func<FunctionInvocationContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        await next(context).ConfigureAwait(false);
        // A streamed result's value is the stream itself, whose ToString is its type's name.
        if (!context.IsStreaming && context.Result.GetValue<object>()?.ToString() is { Length: > 0 } output)
            await guard.EnsureAllowedAsync(output, GuardRoles.ToolOutput, context.CancellationToken).ConfigureAwait(false);
    }
}
