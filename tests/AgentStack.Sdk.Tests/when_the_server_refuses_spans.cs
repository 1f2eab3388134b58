using AgentStack.Testing;

namespace AgentStack.Sdk.Tests;

/// <summary>A 4xx other than 429 is final: the batch is counted as failed at once, never retried, and the caller never sees it.</summary>
public sealed class when_the_server_refuses_spans(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task then_an_unknown_key_fails_the_batch_without_retrying()
    {
        await using var client = new AgentStackClient(new AgentStackOptions
        {
            Endpoint = fixture.Server.BaseAddress,
            ApiKey = "ask_not_a_key_of_this_server_0000",
            ExportInterval = TimeSpan.FromMilliseconds(10),
            // Were a 401 retried, the flush below would wait out these delays and the test's timeout.
            InitialRetryDelay = TimeSpan.FromMinutes(5),
            MaxRetryDelay = TimeSpan.FromMinutes(5),
        });
        for (var i = 0; i < 3; i++)
        {
            using var span = AgentStackTracer.StartSpan(AgentStackSpanKind.Llm, "refused");
            span.SetUsage(10, 5);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await client.FlushAsync(timeout.Token);

        var stats = client.Statistics;
        stats.Failed.ShouldBe(3);
        stats.Exported.ShouldBe(0);
        stats.LastError.ShouldNotBeNull().ShouldContain("answered 401");
    }
}
