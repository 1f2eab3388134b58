using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.Audit.Tests;

/// <summary>
/// Issue 14, acceptance: against the real store, with raw SQL after the append-only triggers are switched
/// off, each kind of change is reported precisely, through the API and through <c>./agentstack verify</c>:
/// an edited byte, a deleted event, two swapped events, a truncated tail, a deleted stream and a
/// consistently rewritten stream (the last three against the checkpoint kept before the change).
/// </summary>
public abstract class when_a_stored_log_is_tampered_with : IAsyncLifetime
{
    private const int SpansPerTrace = 6;
    protected ServerProcess Server { get; private set; } = null!;
    protected abstract Dictionary<string, string> Settings { get; }
    protected abstract Tampering Tampering { get; }
    protected abstract string[] CliStore { get; }

    public async ValueTask InitializeAsync()
    {
        var settings = Settings;
        settings["AgentStack__Audit__CheckpointInterval"] = "00:00:00";
        Server = await ServerProcess.StartAsync(settings);
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();

    private static string StreamOf(string trace) => $"trace-default-{trace}";

    [Fact]
    public async Task then_each_change_is_reported_with_its_kind_through_the_api_and_the_cli()
    {
        var ct = TestContext.Current.CancellationToken;
        var run = NewId()[..8];
        string T(string name) => $"{name}-{run}";
        string[] names = ["clean", "edit", "delete", "swap", "truncate", "gone", "rewrite", "project"];
        foreach (var name in names)
        {
            var start = DateTimeOffset.UtcNow.AddMinutes(-5);
            for (var i = 0; i < SpansPerTrace; i++)
            {
                using var response = await Server.Client.PostSpansAsync(Batch(
                    Span(T(name), $"s{i}", start: start.AddSeconds(i), end: start.AddSeconds(i + 1), input: $"{{\"prompt\":\"question number {i}\"}}")));
                response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));
            }
        }
        foreach (var name in names)
            (await Tampering.ReadStreamAsync(StreamOf(T(name)))).Count.ShouldBe(SpansPerTrace);

        using (var checkpoint = await Server.Client.PostAsync(new Uri("/api/audit/checkpoints", UriKind.Relative), null, ct))
            checkpoint.StatusCode.ShouldBe(HttpStatusCode.OK, await checkpoint.Content.ReadAsStringAsync(ct));
        // What a third party keeps: the signed checkpoint and the deployment's public key.
        var kept = Path.Combine(Server.DataDirectory, "kept-checkpoint.json");
        var key = Path.Combine(Server.DataDirectory, "public-key.json");
        await File.WriteAllTextAsync(kept, await Server.Client.GetStringAsync(new Uri("/api/audit/checkpoints/latest", UriKind.Relative), ct), ct);
        await File.WriteAllTextAsync(key, await Server.Client.GetStringAsync(new Uri("/api/audit/public-key", UriKind.Relative), ct), ct);

        var clean = await VerifyAsync("", ct);
        clean["valid"]!.GetValue<bool>().ShouldBeTrue(clean.ToJsonString());
        clean["eventsChecked"]!.GetValue<int>().ShouldBeGreaterThanOrEqualTo(names.Length * SpansPerTrace);
        clean["checkpoint"]!["consistent"]!.GetValue<bool>().ShouldBeTrue();
        var cleanCli = await Cli.RunAsync([.. CliStore, "--checkpoint", kept, "--public-key", key]);
        cleanCli.ExitCode.ShouldBe(0, cleanCli.Output);
        // Against the newest stored checkpoint, with only what the store holds (no key given for PostgreSQL).
        var storedCli = await Cli.RunAsync(CliStore);
        storedCli.ExitCode.ShouldBe(0, storedCli.Output);

        await Tampering.EditOneByteAsync(StreamOf(T("edit")), 3);
        await Tampering.DeleteEventAsync(StreamOf(T("delete")), 3);
        await Tampering.SwapAsync(StreamOf(T("swap")), 3, 4);
        await Tampering.TruncateAsync(StreamOf(T("truncate")), 5);
        await Tampering.DeleteStreamAsync(StreamOf(T("gone")));
        await Tampering.RewriteConsistentlyAsync(StreamOf(T("rewrite")), 2);
        // The first event's own project ("default" made "Default"): the stream must not pass for another project's.
        await Tampering.EditOneByteAsync(StreamOf(T("project")), 1);

        var report = await VerifyAsync("", ct);
        report["valid"]!.GetValue<bool>().ShouldBeFalse();
        var breaks = report["breaks"]!.AsArray().Select(b => (Stream: b!["stream"]!.GetValue<string>(), Version: b["version"]!.GetValue<long>(),
            Kind: b["kind"]!.GetValue<string>(), Expected: b["expectedHash"]!.GetValue<string>(), Found: b["foundHash"]!.GetValue<string>())).ToList();
        var byStream = breaks.ToLookup(b => b.Stream);
        string Expect(string name, long version, string kind)
        {
            var found = byStream[StreamOf(T(name))].ToList();
            found.Select(b => (b.Version, b.Kind)).ShouldBe([(version, kind)], $"{name}: {report.ToJsonString()}");
            return found[0].Expected;
        }
        Expect("edit", 3, "edited");
        Expect("delete", 3, "missing");
        Expect("swap", 3, "reordered");
        Expect("truncate", 5, "truncated");
        Expect("gone", SpansPerTrace, "stream-deleted");
        Expect("rewrite", SpansPerTrace, "rewritten");
        Expect("project", 1, "edited");
        byStream[StreamOf(T("clean"))].ShouldBeEmpty();
        breaks.Count.ShouldBe(7, report.ToJsonString());
        report["checkpoint"]!["consistent"]!.GetValue<bool>().ShouldBeFalse();

        // Streamed with progress lines for large projects; the last line is the same report.
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/projects/default/audit/verify", UriKind.Relative)))
        {
            request.Headers.Accept.ParseAdd("application/x-ndjson");
            using var streamed = await Server.Client.SendAsync(request, ct);
            streamed.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-ndjson");
            var lines = (await streamed.Content.ReadAsStringAsync(ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            lines.Length.ShouldBeGreaterThan(1);
            JsonNode.Parse(lines[0])!["progress"]!["lastPosition"]!.GetValue<long>().ShouldBeGreaterThan(0);
            JsonNode.Parse(lines[^1])!["breaks"]!.AsArray().Count.ShouldBe(7);
        }

        // One trace at a time, too: the clean one verifies, the edited one names its event.
        (await VerifyAsync($"?traceId={T("clean")}", ct))["valid"]!.GetValue<bool>().ShouldBeTrue();
        var edited = await VerifyAsync($"?traceId={T("edit")}", ct);
        edited["breaks"]!.AsArray().Single()!["kind"]!.GetValue<string>().ShouldBe("edited");
        var reowned = await VerifyAsync($"?traceId={T("project")}", ct);
        reowned["breaks"]!.AsArray().Single()!["version"]!.GetValue<long>().ShouldBe(1, reowned.ToJsonString());

        // Offline, with no help from the server: the same breaks, the first one named, exit code 1.
        var cli = await Cli.RunAsync([.. CliStore, "--project", "default", "--checkpoint", kept, "--public-key", key]);
        cli.ExitCode.ShouldBe(1, cli.Output);
        cli.Output.ShouldStartWith("INVALID: ");
        foreach (var (name, kind) in new[] { ("edit", "edited"), ("delete", "missing"), ("swap", "reordered"), ("truncate", "truncated"),
                     ("gone", "stream-deleted"), ("rewrite", "rewritten"), ("project", "edited") })
            cli.Output.ShouldContain($"{kind} at {StreamOf(T(name))} version", customMessage: cli.Output);
        // The whole log against the kept checkpoint: its Merkle root no longer matches.
        var whole = await Cli.RunAsync([.. CliStore, "--checkpoint", kept, "--public-key", key]);
        whole.ExitCode.ShouldBe(1, whole.Output);
        whole.Output.ShouldContain("checkpoint-mismatch at log");
    }

    private async Task<JsonObject> VerifyAsync(string query, CancellationToken ct)
    {
        using var response = await Server.Client.GetAsync(new Uri("/api/projects/default/audit/verify" + query, UriKind.Relative), ct);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));
        return (await response.Content.ReadFromJsonAsync<JsonObject>(ct))!;
    }
}

public sealed class when_a_sqlite_log_is_tampered_with : when_a_stored_log_is_tampered_with
{
    protected override Dictionary<string, string> Settings => [];
    protected override Tampering Tampering => new SqliteTampering(Path.Combine(Server.DataDirectory, "events.db"));
    protected override string[] CliStore => ["verify", "--data-dir", Server.DataDirectory];
}

public sealed class when_a_postgres_log_is_tampered_with : when_a_stored_log_is_tampered_with
{
    private readonly string schema = Postgres.NewSchema();
    protected override Dictionary<string, string> Settings => Postgres.EventStoreSettings(schema);
    protected override Tampering Tampering => new PostgresTampering(Postgres.ConnectionString, schema);
    protected override string[] CliStore => ["verify", "--postgres", Postgres.ConnectionString, "--schema", schema];
}
