using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentStack.Testing;
using static AgentStack.Testing.Spans;

namespace AgentStack.EndToEndTests.Distributed;

/// <summary>
/// Issue 4: with <c>AgentStack:Access:Provider=Marten</c>, projects and keys are documents in PostgreSQL, so
/// a key created through one host's admin endpoint authenticates ingestion on another. Both hosts start at
/// once on an empty schema and ensure the same bootstrap key, which must neither fail nor be stored twice.
/// Each host keeps its own event log (SQLite) and in-memory bus: only access is shared here.
/// </summary>
public sealed class when_hosts_share_projects_and_keys : IAsyncLifetime
{
    // A schema no other run has used: this class's reset.
    private readonly string schema = "e2e_access_" + NewId()[..12];
    private ServerProcess first = null!;
    private ServerProcess second = null!;

    private Dictionary<string, string> Settings() => new()
    {
        ["AgentStack__Access__Provider"] = "Marten",
        ["AgentStack__Access__Schema"] = schema,
        ["ConnectionStrings__Postgres"] = Postgres.ConnectionString,
    };

    public async ValueTask InitializeAsync()
    {
        var starting = new[] { ServerProcess.StartAsync(Settings()), ServerProcess.StartAsync(Settings()) };
        try
        {
            await Task.WhenAll(starting);
        }
        finally
        {
            // Whichever started must not outlive a failed start of the other.
            if (starting[0].IsCompletedSuccessfully) first = await starting[0];
            if (starting[1].IsCompletedSuccessfully) second = await starting[1];
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (first is not null) await first.DisposeAsync();
        if (second is not null) await second.DisposeAsync();
    }

    [Fact]
    public async Task then_a_key_created_on_one_host_authenticates_ingest_on_the_other()
    {
        // Both hosts ensured the bootstrap key at start: one key, seen from either host.
        var bootstrapKeys = await first.Client.GetFromJsonAsync<JsonArray>(new Uri("/api/projects/default/keys", UriKind.Relative), TestContext.Current.CancellationToken);
        bootstrapKeys.ShouldNotBeNull().ShouldHaveSingleItem();

        var project = "p" + NewId()[..12];
        using var created = await first.Client.PostAsJsonAsync(new Uri("/api/projects", UriKind.Relative), new { name = project }, TestContext.Current.CancellationToken);
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var body = (await created.Content.ReadFromJsonAsync<JsonObject>(TestContext.Current.CancellationToken))!;
        var secret = body["secret"]!.GetValue<string>();
        var keyId = body["keyId"]!.GetValue<string>();

        using var onSecond = second.CreateClient(secret);
        using var ingested = await onSecond.PostSpansAsync(Batch(Span(NewId(), "s", end: DateTimeOffset.UtcNow)));
        ingested.StatusCode.ShouldBe(HttpStatusCode.OK, await ingested.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        (await ingested.Content.ReadFromJsonAsync<JsonObject>(TestContext.Current.CancellationToken))!["accepted"]!.GetValue<int>().ShouldBe(1);

        // The project exists for the other host too, and only the stored hash exists anywhere: an unknown key is refused.
        (await second.Client.PostAsJsonAsync(new Uri("/api/projects", UriKind.Relative), new { name = project }, TestContext.Current.CancellationToken))
            .StatusCode.ShouldBe(HttpStatusCode.Conflict);
        using var unknown = second.CreateClient(ApiKeyLike());
        (await unknown.PostSpansAsync(Batch(Span(NewId(), "s")))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        // Revoked through the second host: refused there at once (the first host's cache may hold it up to 30 s).
        (await onSecond.DeleteAsync(new Uri($"/api/projects/{project}/keys/{keyId}", UriKind.Relative), TestContext.Current.CancellationToken))
            .StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await onSecond.PostSpansAsync(Batch(Span(NewId(), "s")))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var listed = await first.Client.GetFromJsonAsync<JsonArray>(new Uri("/api/projects/default/keys", UriKind.Relative), TestContext.Current.CancellationToken);
        listed.ShouldNotBeNull().ShouldHaveSingleItem();
    }

    private static string ApiKeyLike() => "ask_" + NewId() + NewId();
}
