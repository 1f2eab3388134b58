using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using AgentStack.Sdk;
using Microsoft.SemanticKernel;

namespace AgentStack.Sdk.SemanticKernel;

/// <summary>
/// One filter for the three Semantic Kernel hooks: every kernel function invocation becomes a chain span
/// (a tool span when the model asked for it), every prompt render a chain span holding the rendered
/// prompt, and every auto function invocation a tool span with its arguments and result. The model calls
/// themselves are llm spans from the chat client (instrument it with <c>UseAgentStack()</c>).
/// </summary>
public sealed class AgentStackKernelFilter : IFunctionInvocationFilter, IPromptRenderFilter, IAutoFunctionInvocationFilter
{
    /// <summary>The activity source of Semantic Kernel spans.</summary>
    public const string SourceName = AgentStackTracer.SourceNamePrefix + "SemanticKernel";

    private static readonly ActivitySource Source = new(SourceName);
    private static readonly MethodInfo TraceMethod = typeof(AgentStackKernelFilter).GetMethod(nameof(TraceStream), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <inheritdoc />
    public async Task OnFunctionInvocationAsync(FunctionInvocationContext context, Func<FunctionInvocationContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        // Inside an auto function invocation the tool span already describes this call; a chain span
        // under it would only repeat it.
        if (IsToolSpan(Activity.Current))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var span = AgentStackTracer.StartSpan(Source, AgentStackSpanKind.Chain, FullName(context.Function));
        if (span.IsRecording)
        {
            span.SetInput(Arguments(context.Arguments))
                .SetAttribute("sk.plugin", context.Function.PluginName)
                .SetAttribute("sk.function", context.Function.Name)
                .SetAttribute("sk.streaming", context.IsStreaming);
        }
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            span.SetError(e).Dispose();
            throw;
        }
        // A streamed result is only the stream: the function (prompt render, model call) runs while the caller
        // reads it, so the span goes with the stream and ends when the stream is read, disposed or fails.
        if (context.IsStreaming && span.Activity is not null && Traced(context.Result.GetValue<object>(), span) is { } stream)
        {
            context.Result = new FunctionResult(context.Result, stream);
            return;
        }
        if (span.IsRecording && !context.IsStreaming)
            span.SetOutput(ResultText(context.Result));
        span.Dispose();
    }

    /// <inheritdoc />
    public async Task OnPromptRenderAsync(PromptRenderContext context, Func<PromptRenderContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        using var span = AgentStackTracer.StartSpan(Source, AgentStackSpanKind.Chain, "render " + FullName(context.Function));
        if (span.IsRecording)
            span.SetInput(Arguments(context.Arguments)).SetAttribute("sk.function", context.Function.Name);
        try
        {
            await next(context).ConfigureAwait(false);
            if (span.IsRecording)
                span.SetOutput(context.RenderedPrompt);
        }
        catch (Exception e)
        {
            span.SetError(e);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task OnAutoFunctionInvocationAsync(AutoFunctionInvocationContext context, Func<AutoFunctionInvocationContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        // Semantic Kernel's function-invoking chat client already opened a GenAI execute_tool span (with
        // arguments and result) when its chat client is instrumented: enrich that one instead of nesting a twin.
        if (Activity.Current is { } existing && IsGenAiToolSpan(existing))
        {
            if (existing.IsAllDataRequested)
            {
                existing.SetTag("sk.function", FullName(context.Function));
                existing.SetTag("sk.request_sequence_index", context.RequestSequenceIndex);
                existing.SetTag("sk.function_sequence_index", context.FunctionSequenceIndex);
            }
            await next(context).ConfigureAwait(false);
            if (existing.IsAllDataRequested)
                existing.SetTag("sk.terminate", context.Terminate);
            return;
        }
        using var span = AgentStackTracer.StartSpan(Source, AgentStackSpanKind.Tool, FullName(context.Function));
        if (span.IsRecording)
        {
            span.SetInput(Arguments(context.Arguments))
                .SetAttribute("gen_ai.tool.name", context.Function.Name)
                .SetAttribute("gen_ai.tool.call.id", context.ToolCallId)
                .SetAttribute("sk.request_sequence_index", context.RequestSequenceIndex)
                .SetAttribute("sk.function_sequence_index", context.FunctionSequenceIndex);
        }
        try
        {
            await next(context).ConfigureAwait(false);
            if (span.IsRecording)
                span.SetOutput(ResultText(context.Result)).SetAttribute("sk.terminate", context.Terminate);
        }
        catch (Exception e)
        {
            span.SetError(e);
            throw;
        }
    }

    /// <summary>The function's <c>IAsyncEnumerable&lt;T&gt;</c> (T is the caller's choice) read through <see cref="TraceStream{T}"/>.</summary>
    private static object? Traced(object? stream, AgentStackSpan span)
    {
        var enumerable = stream?.GetType().GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IAsyncEnumerable<>));
        return enumerable is null ? null : TraceMethod.MakeGenericMethod(enumerable.GenericTypeArguments[0]).Invoke(null, [stream, span, CancellationToken.None]);
    }

    private static async IAsyncEnumerable<T> TraceStream<T>(IAsyncEnumerable<T> stream, AgentStackSpan span,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using (span)
        {
            var text = span.IsRecording ? new StringBuilder() : null;
            await using var enumerator = stream.GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                // Each MoveNextAsync resumes this iterator in the caller's context (dotnet/runtime#47802): the span is
                // made current again so the render and model call made while reading are recorded under it.
                Activity.Current = span.Activity;
                T chunk;
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                        break;
                    chunk = enumerator.Current;
                }
                catch (Exception e)
                {
                    span.SetError(e);
                    throw;
                }
                // The chunks' text, as a non-streamed call records its result's text.
                text?.Append(chunk?.ToString());
                yield return chunk;
            }
            if (text is not null)
                span.SetOutput(text.ToString());
        }
    }

    private static bool IsToolSpan(Activity? activity) =>
        activity is not null && ((activity.Source == Source && activity.OperationName == AgentStackSpanKind.Tool) || IsGenAiToolSpan(activity));

    private static bool IsGenAiToolSpan(Activity activity) =>
        AgentStackTracer.IsAgentStackSource(activity.Source.Name)
        && activity.GetTagItem(AgentStackTags.OperationName) as string == "execute_tool";

    private static string FullName(KernelFunction function) =>
        string.IsNullOrEmpty(function.PluginName) ? function.Name : $"{function.PluginName}.{function.Name}";

    /// <summary>Arguments as name → text: values can be anything, and text is what the prompt saw.</summary>
    private static Dictionary<string, string?> Arguments(KernelArguments? arguments)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (arguments is not null)
        {
            foreach (var (name, value) in arguments)
                result[name] = value?.ToString();
        }
        return result;
    }

    private static string? ResultText(FunctionResult? result)
    {
        if (result is null)
            return null;
        try
        {
            return result.ToString();
        }
        catch (InvalidCastException)
        {
            return result.ValueType?.FullName;
        }
    }
}
