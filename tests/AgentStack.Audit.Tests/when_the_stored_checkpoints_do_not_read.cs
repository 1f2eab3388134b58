using System.Net;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using Microsoft.Data.Sqlite;
using static AgentStack.Testing.Spans;

namespace AgentStack.Audit.Tests;

/// <summary>
/// docs/audit.md, <c>checkpoint-unreadable</c>: a row of audit.db changed by hand so that it no longer reads as the server
/// wrote it. Every API that needs the stored checkpoints answers a problem naming the table, column and value (it was
/// the anonymous 500 of an unexpected error, and an export ended after its events without its manifest); verification
/// reports the break and still checks the chains; ingestion goes on.
/// </summary>
public sealed class when_the_stored_checkpoints_do_not_read : IAsyncLifetime
{
    private const string Detail = "audit.db: checkpoints.timestamp of a stored row is 'yesterday', not an integer";
    private ServerProcess server = null!;

    public async ValueTask InitializeAsync() =>
        server = await ServerProcess.StartAsync(new() { ["AgentStack__Audit__CheckpointInterval"] = "00:00:00" });

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task then_each_audit_api_names_the_row_and_ingestion_goes_on()
    {
        var ct = TestContext.Current.CancellationToken;
        var trace = NewId();
        using (var posted = await server.Client.PostSpansAsync(Batch(Span(trace, "s1"), Span(trace, "s2"))))
            posted.StatusCode.ShouldBe(HttpStatusCode.OK, await posted.Content.ReadAsStringAsync(ct));
        long size;
        using (var signed = await server.Client.PostAsync(new Uri("/api/audit/checkpoints", UriKind.Relative), null, ct))
        {
            signed.StatusCode.ShouldBe(HttpStatusCode.OK, await signed.Content.ReadAsStringAsync(ct));
            size = JsonNode.Parse(await signed.Content.ReadAsStringAsync(ct))!["treeSize"]!.GetValue<long>();
        }

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "audit.db")};Pooling=False"))
        {
            await connection.OpenAsync(ct);
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE checkpoints SET timestamp = 'yesterday'";
            (await command.ExecuteNonQueryAsync(ct)).ShouldBe(1);
        }

        string[] gets =
        [
            "/api/audit/checkpoints",
            "/api/audit/checkpoints/latest",
            $"/api/audit/checkpoints/{size}",
            $"/api/audit/proofs/consistency?from={size}&to={size}",
            $"/api/projects/default/audit/proofs/inclusion?traceId={trace}&version=1",
            "/api/projects/default/audit/export",
        ];
        foreach (var path in gets)
        {
            using var response = await server.Client.GetAsync(new Uri(path, UriKind.Relative), ct);
            await ShouldNameTheRowAsync(response, path);
        }
        using (var sign = await server.Client.PostAsync(new Uri("/api/audit/checkpoints", UriKind.Relative), null, ct))
            await ShouldNameTheRowAsync(sign, "POST /api/audit/checkpoints");

        var report = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/api/projects/default/audit/verify", UriKind.Relative), ct))!;
        report["valid"]!.GetValue<bool>().ShouldBeFalse(report.ToJsonString());
        var only = report["breaks"]!.AsArray().ShouldHaveSingleItem()!;
        only["kind"]!.GetValue<string>().ShouldBe("checkpoint-unreadable");
        only["detail"]!.GetValue<string>().ShouldBe(Detail);
        report["eventsChecked"]!.GetValue<int>().ShouldBeGreaterThanOrEqualTo(2);

        using var after = await server.Client.PostSpansAsync(Batch(Span(trace, "s3")));
        after.StatusCode.ShouldBe(HttpStatusCode.OK, await after.Content.ReadAsStringAsync(ct));
    }

    private static async Task ShouldNameTheRowAsync(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        response.StatusCode.ShouldBe(HttpStatusCode.InternalServerError, $"{what}: {body}");
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", $"{what}: {body}");
        var problem = JsonNode.Parse(body)!;
        problem["title"]!.GetValue<string>().ShouldBe(UnreadableCheckpointHandler.Title, what);
        problem["detail"]!.GetValue<string>().ShouldBe(Detail, what);
    }
}
