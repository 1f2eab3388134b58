using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

public sealed class when_the_store_is_registered_with_dependency_injection
{
    [Fact]
    public async Task then_configuration_binds_and_one_store_serves_the_port()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AgentStack:ChDb:ReaderConnections"] = "1", ["AgentStack:ChDb:MaxThreads"] = "4" })
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);

        services.AddChDbAnalytics(options => { options.DataPath = SharedDataPath; options.MaxThreads = 1; });
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ChDbOptions>>().Value;
        options.ReaderConnections.ShouldBe(1);
        options.MaxThreads.ShouldBe(1, "code runs after configuration");
        var store = provider.GetRequiredService<IAnalyticsStore>();
        store.ShouldBeSameAs(provider.GetRequiredService<IAnalyticsStore>());
        (await store.QueryTextAsync("SELECT getSetting('max_threads')")).ShouldBe("1");
    }
}
