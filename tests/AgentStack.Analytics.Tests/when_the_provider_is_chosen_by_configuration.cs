using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;
using AgentStack.Projections.Analytics.ClickHouse;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static AgentStack.Analytics.Tests.ChDbTestEngine;

namespace AgentStack.Analytics.Tests;

/// <summary>AgentStack:Analytics:Provider picks the adapter (issue 4); mistakes fail at start-up naming the key.</summary>
public sealed class when_the_provider_is_chosen_by_configuration(ClickHouseServer server)
{
    private static IServiceCollection Services(Dictionary<string, string?> settings, out IConfiguration configuration)
    {
        configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddSingleton(configuration);
    }

    [Fact]
    public async Task then_click_house_with_a_connection_string_serves_the_port_through_the_driver()
    {
        var services = Services(new()
        {
            ["AgentStack:Analytics:Provider"] = "clickhouse",
            ["ConnectionStrings:ClickHouse"] = server.ConnectionString,
        }, out var configuration);

        services.AddAnalytics(configuration, _ => throw new InvalidOperationException("chDB must not be configured"));
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IAnalyticsStore>();
        store.ShouldBeOfType<ClickHouseAnalyticsStore>();
        (await store.QueryTextAsync("SELECT {n:UInt8} + 1", new Dictionary<string, object?> { ["n"] = 41 })).ShouldBe("42");
        provider.GetRequiredService<IOptions<AnalyticsOptions>>().Value.Cluster.ShouldBeNull();
    }

    [Fact]
    public async Task then_no_provider_means_chdb_configured_by_the_callback()
    {
        var services = Services([], out var configuration);

        services.AddAnalytics(configuration, o => o.DataPath = SharedDataPath);
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IOptions<AnalyticsOptions>>().Value.Provider.ShouldBe(AnalyticsProvider.ChDb);
        provider.GetRequiredService<IOptions<ChDbOptions>>().Value.DataPath.ShouldBe(SharedDataPath);
    }

    [Fact]
    public void then_click_house_without_a_connection_string_names_the_missing_key()
    {
        var services = Services(new() { ["AgentStack:Analytics:Provider"] = "ClickHouse" }, out var configuration);

        Should.Throw<InvalidOperationException>(() => services.AddAnalytics(configuration, _ => { }))
            .Message.ShouldContain("ConnectionStrings:ClickHouse");
    }

    [Fact]
    public void then_an_unknown_provider_names_the_key_and_the_choices()
    {
        var services = Services(new() { ["AgentStack:Analytics:Provider"] = "Postgres" }, out var configuration);

        var message = Should.Throw<InvalidOperationException>(() => services.AddAnalytics(configuration, _ => { })).Message;

        message.ShouldContain("AgentStack:Analytics:Provider");
        message.ShouldContain("ChDb or ClickHouse");
    }

    [Fact]
    public void then_a_cluster_on_chdb_is_refused()
    {
        var services = Services(new() { ["AgentStack:Analytics:Cluster"] = "c1" }, out var configuration);

        Should.Throw<InvalidOperationException>(() => services.AddAnalytics(configuration, _ => { }))
            .Message.ShouldContain("AgentStack:Analytics:Provider=ClickHouse");
    }

    [Fact]
    public async Task then_a_cluster_is_passed_to_the_schema()
    {
        var services = Services(new()
        {
            ["AgentStack:Analytics:Provider"] = "ClickHouse",
            ["AgentStack:Analytics:Cluster"] = "c1",
            ["ConnectionStrings:ClickHouse"] = server.ConnectionString,
        }, out var configuration);

        services.AddAnalytics(configuration, _ => { });
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IOptions<AnalyticsOptions>>().Value.Cluster.ShouldBe("c1");
    }
}
