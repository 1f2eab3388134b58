using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Operating;

/// <summary>
/// A server started with a pipe for standard input that holds data and is never closed (a supervisor's default,
/// <c>docker run -i</c>): chDB's inserts look for data on standard input, and without the server pointing it at
/// <c>/dev/null</c> the analytics store's first insert waited for the pipe's end forever, so no span ever became
/// queryable (docs/projections.md, "Standard input").
/// </summary>
public sealed class when_the_server_has_a_pipe_for_standard_input : IAsyncLifetime
{
    private ServerProcess server = null!;

    public async ValueTask InitializeAsync() =>
        server = await ServerProcess.StartAsync(standardInput: "lines a supervisor wrote\nand never closed\n");

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task then_spans_still_become_queryable()
    {
        var trace = NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        (await server.Client.PostSpansAsync(Batch(Span(trace, "root", start: start, end: start.AddSeconds(1)))))
            .EnsureSuccessStatusCode();

        // The projection wait is bounded (60 s); the insert it waits for took no more than a second or two before.
        await server.WaitForProjectionAsync();
        var traces = await server.Client.GetStringAsync(new Uri("/api/projects/default/traces?limit=10", UriKind.Relative));
        traces.ShouldContain(trace);
    }
}
