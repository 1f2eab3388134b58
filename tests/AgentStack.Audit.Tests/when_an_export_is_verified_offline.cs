using System.Net;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.Audit.Tests;

/// <summary>
/// Issue 14, acceptance: export, verify offline with the public key alone, flip one byte, and the check
/// fails naming the line.
/// </summary>
public sealed class when_an_export_is_verified_offline(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task then_the_signed_export_verifies_and_one_flipped_byte_is_found_on_its_line()
    {
        var ct = TestContext.Current.CancellationToken;
        var traces = Enumerable.Range(0, 3).Select(_ => NewId()).ToList();
        var start = DateTimeOffset.UtcNow.AddMinutes(-2);
        foreach (var trace in traces)
        {
            using var response = await Server.Client.PostSpansAsync(Batch(
                Span(trace, "root", kind: "agent", start: start, end: start.AddSeconds(3)),
                Span(trace, "llm", parent: "root", start: start, end: start.AddSeconds(1), input: "{\"prompt\":\"hello\"}", output: "\"world\"")));
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        using (var checkpoint = await Server.Client.PostAsync(new Uri("/api/audit/checkpoints", UriKind.Relative), null, ct))
            checkpoint.StatusCode.ShouldBe(HttpStatusCode.OK);

        var key = Path.Combine(Server.DataDirectory, "public-key.json");
        await File.WriteAllTextAsync(key, await Server.Client.GetStringAsync(new Uri("/api/audit/public-key", UriKind.Relative), ct), ct);
        var export = Path.Combine(Server.DataDirectory, "export.ndjson");
        using (var response = await Server.Client.GetAsync(new Uri("/api/projects/default/audit/export", UriKind.Relative), ct))
        {
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-ndjson");
            await File.WriteAllBytesAsync(export, await response.Content.ReadAsByteArrayAsync(ct), ct);
        }
        var lines = await File.ReadAllLinesAsync(export, ct);
        lines.Length.ShouldBeGreaterThanOrEqualTo(traces.Count * 2 + 1);
        lines[^1].ShouldStartWith("{\"manifest\":");
        lines[0].ShouldContain("\"stream\":\"trace-default-");
        // Payloads are sealed at rest (docs/privacy.md): a line shows them opened and carries the stored bytes the chain covers.
        lines[0].ShouldContain("\"stored\":\"");

        var valid = await Cli.RunAsync("verify-export", export, "--public-key", key);
        valid.ExitCode.ShouldBe(0, valid.Output);
        valid.Output.ShouldStartWith("valid:");

        // One character of the second event's stored bytes (base64, changed to another base64 letter): its hash fails there.
        var bytes = await File.ReadAllBytesAsync(export, ct);
        var secondLine = Array.IndexOf(bytes, (byte)'\n') + 1;
        var stored = secondLine + System.Text.Encoding.UTF8.GetString(bytes, secondLine, bytes.Length - secondLine).IndexOf("\"stored\":\"", StringComparison.Ordinal) + 10 + 20;
        bytes[stored] = bytes[stored] == (byte)'A' ? (byte)'B' : (byte)'A';
        var flipped = Path.Combine(Server.DataDirectory, "flipped.ndjson");
        await File.WriteAllBytesAsync(flipped, bytes, ct);
        var invalid = await Cli.RunAsync("verify-export", flipped, "--public-key", key);
        invalid.ExitCode.ShouldBe(1, invalid.Output);
        invalid.Output.ShouldStartWith("INVALID: line 2:");

        // One byte of the shown (opened) data of the second event: the signed digest of what the lines show fails.
        bytes = await File.ReadAllBytesAsync(export, ct);
        var data = secondLine + System.Text.Encoding.UTF8.GetString(bytes, secondLine, bytes.Length - secondLine).IndexOf("\"data\":{\"", StringComparison.Ordinal) + 9;
        bytes[data] = bytes[data] == (byte)'x' ? (byte)'y' : (byte)'x';
        await File.WriteAllBytesAsync(flipped, bytes, ct);
        var changedData = await Cli.RunAsync("verify-export", flipped, "--public-key", key);
        changedData.ExitCode.ShouldBe(1, changedData.Output);
        changedData.Output.ShouldContain("not the data the manifest signs");

        // A byte of the manifest: its signature no longer holds.
        bytes = await File.ReadAllBytesAsync(export, ct);
        var manifest = Array.LastIndexOf(bytes, (byte)'\n', bytes.Length - 2) + 1;
        var events = manifest + System.Text.Encoding.UTF8.GetString(bytes, manifest, bytes.Length - manifest).IndexOf("\"exportedAt\":\"", StringComparison.Ordinal) + 15;
        bytes[events] = bytes[events] == (byte)'1' ? (byte)'2' : (byte)'1';
        await File.WriteAllBytesAsync(flipped, bytes, ct);
        var badManifest = await Cli.RunAsync("verify-export", flipped, "--public-key", key);
        badManifest.ExitCode.ShouldBe(1, badManifest.Output);
        badManifest.Output.ShouldStartWith($"INVALID: line {lines.Length}:");

        var usage = await Cli.RunAsync("verify-export", export);
        usage.ExitCode.ShouldBe(2, usage.Output);
    }

    [Fact]
    public async Task then_checkpoints_extend_each_other_and_include_each_event_offline()
    {
        var ct = TestContext.Current.CancellationToken;
        var dir = Server.DataDirectory;
        async Task<string> SaveAsync(string name, string path)
        {
            var file = Path.Combine(dir, name);
            await File.WriteAllTextAsync(file, await Server.Client.GetStringAsync(new Uri(path, UriKind.Relative), ct), ct);
            return file;
        }
        async Task<long> CheckpointAsync(string trace)
        {
            using (var spans = await Server.Client.PostSpansAsync(Batch(Span(trace, "s", end: DateTimeOffset.UtcNow.AddSeconds(-1)))))
                spans.StatusCode.ShouldBe(HttpStatusCode.OK);
            using var response = await Server.Client.PostAsync(new Uri("/api/audit/checkpoints", UriKind.Relative), null, ct);
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            return System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!["treeSize"]!.GetValue<long>();
        }
        var firstTrace = NewId();
        var oldSize = await CheckpointAsync(firstTrace);
        var newSize = await CheckpointAsync(NewId());
        newSize.ShouldBeGreaterThan(oldSize);
        var key = await SaveAsync("key.json", "/api/audit/public-key");
        var old = await SaveAsync("old.json", $"/api/audit/checkpoints/{oldSize}");
        var @new = await SaveAsync("new.json", $"/api/audit/checkpoints/{newSize}");
        var consistency = await SaveAsync("consistency.json", $"/api/audit/proofs/consistency?from={oldSize}&to={newSize}");
        var inclusion = await SaveAsync("inclusion.json", $"/api/projects/default/audit/proofs/inclusion?traceId={firstTrace}&version=1&treeSize={newSize}");

        var extends = await Cli.RunAsync("verify-consistency", "--old", old, "--new", @new, "--proof", consistency, "--public-key", key);
        extends.ExitCode.ShouldBe(0, extends.Output);
        var included = await Cli.RunAsync("verify-inclusion", "--checkpoint", @new, "--proof", inclusion, "--public-key", key);
        included.ExitCode.ShouldBe(0, included.Output);

        // A proof that does not belong to these checkpoints fails.
        var reversed = await Cli.RunAsync("verify-consistency", "--old", old, "--new", @new, "--proof", inclusion, "--public-key", key);
        reversed.ExitCode.ShouldNotBe(0, reversed.Output);
        var text = await File.ReadAllTextAsync(inclusion, ct);
        var eventHash = System.Text.Json.Nodes.JsonNode.Parse(text)!["eventHash"]!.GetValue<string>();
        await File.WriteAllTextAsync(inclusion, text.Replace(eventHash, new string('a', 64), StringComparison.Ordinal), ct);
        var forged = await Cli.RunAsync("verify-inclusion", "--checkpoint", @new, "--proof", inclusion, "--public-key", key);
        forged.ExitCode.ShouldBe(1, forged.Output);
    }
}
