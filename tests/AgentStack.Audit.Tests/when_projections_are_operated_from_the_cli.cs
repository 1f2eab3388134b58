using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.Audit.Tests;

/// <summary>
/// Issue 14.6: an operator follows and rebuilds the projections from the command line
/// (<c>./agentstack projections status|rebuild|parity</c>) against a running server, with an admin key.
/// </summary>
public sealed class when_projections_are_operated_from_the_cli : IAsyncLifetime
{
    private ServerProcess server = null!;

    public async ValueTask InitializeAsync() =>
        server = await ServerProcess.StartAsync(new() { ["AgentStack__Projections__RebuildBatchSize"] = "5" });

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    private string[] Server(params string[] command) =>
        ["projections", .. command, "--url", server.BaseAddress.ToString(), "--key", ServerProcess.BootstrapKey];

    [Fact]
    public async Task then_a_rebuild_prints_its_progress_until_it_switches_with_parity()
    {
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);
        for (var t = 0; t < 4; t++)
        {
            var trace = NewId();
            (await server.Client.PostSpansAsync(Batch(Span(trace, "root", start: start, end: start.AddSeconds(2)),
                Span(trace, "tool", "root", kind: "tool", start: start.AddMilliseconds(5), end: start.AddMilliseconds(50))))).EnsureSuccessStatusCode();
        }
        await server.WaitForProjectionAsync();

        var status = await Cli.RunAsync(Server("status"));
        status.ExitCode.ShouldBe(0, status.Output);
        status.Output.ShouldMatch(@"analytics: running at ([\d,]+)/\1, lag 0 events");

        var rebuild = await Cli.RunAsync([.. Server("rebuild"), "--interval", "0.2"]);
        rebuild.ExitCode.ShouldBe(0, rebuild.Output);
        rebuild.Output.ShouldContain("rebuild of analytics started");
        rebuild.Output.ShouldMatch(@"(?s)done: ([\d,]+)/\1 \(100\.0%\).*parity: equal");

        var parity = await Cli.RunAsync(Server("parity"));
        parity.ExitCode.ShouldBe(0, parity.Output);
        parity.Output.ShouldContain("agentstack.spans: 8 rows");
        parity.Output.ShouldContain("agentstack.traces: 4 rows");
    }

    [Fact]
    public async Task then_a_key_without_access_is_a_usage_error_naming_the_admin_key()
    {
        var result = await Cli.RunAsync("projections", "status", "--url", server.BaseAddress.ToString(), "--key", "ask_not_a_key_0123456789abcdef");
        result.ExitCode.ShouldBe(2, result.Output);
        result.Output.ShouldContain("an admin key is needed");
    }
}
