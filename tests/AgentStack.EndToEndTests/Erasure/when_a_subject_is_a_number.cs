using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Erasure;

/// <summary>
/// docs/privacy.md: a subject given as a number is "its JSON text", so <c>"user.id": 42.0</c> is subject <c>42.0</c>,
/// whose keys sealing used. ClickHouse reads that number back as <c>42</c> (and <c>1e3</c> as <c>1000</c>), so the
/// analytics rows were looked up by another text than the subject's, and erasing it left them in clear.
/// </summary>
public sealed class when_a_subject_is_a_number : IAsyncLifetime
{
    private ServerProcess server = null!;

    public async ValueTask InitializeAsync() => server = await ServerProcess.StartAsync();

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task then_erasing_it_overwrites_its_analytics_rows_too()
    {
        var ct = TestContext.Current.CancellationToken;
        var trace = NewId();
        var secret = "numeric-subject-prompt-" + NewId();
        var otherSecret = "other-number-prompt-" + NewId();
        var start = DateTimeOffset.UtcNow.AddMinutes(-2);
        using (var sent = await server.Client.PostSpansAsync(Batch(
            Span(trace, "float", start: start, end: start.AddSeconds(1), input: $"\"{secret}\"", extra: "\"attributes\":{\"user.id\":42.0}"),
            Span(trace, "integer", start: start, end: start.AddSeconds(1), input: $"\"{otherSecret}\"", extra: "\"attributes\":{\"user.id\":42}"))))
            sent.StatusCode.ShouldBe(HttpStatusCode.OK, await sent.Content.ReadAsStringAsync(ct));
        await server.WaitForProjectionAsync();

        using var erase = await server.Client.PostAsync(new Uri("/api/projects/default/subjects/42.0/erase", UriKind.Relative), null, ct);
        erase.StatusCode.ShouldBe(HttpStatusCode.OK, await erase.Content.ReadAsStringAsync(ct));
        var answer = (await erase.Content.ReadFromJsonAsync<JsonObject>(ct))!;
        answer["keysDestroyed"]!.GetValue<int>().ShouldBe(1);
        // Subject 42 is another subject (its own key): its row stays as it is.
        answer["analyticsSpansErased"]!.GetValue<int>().ShouldBe(1);

        var clickhouse = Path.Combine(server.DataDirectory, "clickhouse");
        ChDbFiles.Holding(clickhouse, otherSecret).ShouldNotBeEmpty();
        await Eventually.UntilAsync(() => ChDbFiles.Holding(clickhouse, secret).Count == 0, TimeSpan.FromSeconds(60),
            () => string.Join('\n', ChDbFiles.Holding(clickhouse, secret)) + "\n" + server.Output);
    }
}
