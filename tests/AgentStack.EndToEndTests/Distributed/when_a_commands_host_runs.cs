using System.Net;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// The commands host is the write path alone (docs/architecture.md, the two ways to run): after it has collected and
/// recorded a batch, neither chDB nor the ClickHouse driver is loaded in its process. The embedded server, which
/// projects in process, is the control: the same check finds chDB there.
/// </summary>
[Collection(RabbitMq.Collection)]
public sealed class when_a_commands_host_runs
{
    private static bool Maps(ServerProcess host, string fileName) =>
        host.MappedFiles().Any(path => Path.GetFileName(path) == fileName);

    [Fact]
    public async Task then_it_loads_no_analytics_engine()
    {
        var settings = new Dictionary<string, string>(RabbitMq.BusSettings("c" + NewId()[..10]));
        foreach (var (key, value) in Postgres.EventStoreSettings(Postgres.NewSchema()))
            settings[key] = value;
        await using var commands = await ServerProcess.StartAsync(settings, AgentStackHost.Commands);
        await using var embedded = await ServerProcess.StartAsync();

        foreach (var host in new[] { commands, embedded })
        {
            var trace = NewId();
            var start = DateTimeOffset.UtcNow.AddMinutes(-1);
            using var sent = await host.Client.PostSpansAsync(Batch(Span(trace, "root", kind: "agent", start: start, end: start.AddSeconds(1))));
            sent.StatusCode.ShouldBe(HttpStatusCode.OK, await sent.Content.ReadAsStringAsync());
        }
        await embedded.WaitForProjectionAsync();

        Maps(embedded, "libchdb.so").ShouldBeTrue("the control: the embedded server projects into chDB in process");
        Maps(commands, "libchdb.so").ShouldBeFalse(commands.Output);
        Maps(commands, "ClickHouse.Driver.dll").ShouldBeFalse(commands.Output);
    }
}
