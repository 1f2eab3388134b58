using System.Net;
using System.Text.Json.Nodes;
using AgentStack.Testing;

namespace AgentStack.EndToEndTests.Reading;

/// <summary>
/// The charts take any RFC 3339 time, as <c>/traces</c> does: a bound beyond what the DateTime64 columns hold
/// (1900 to 2299) is clamped to it. Before, a "to" in the first week of year 1 had no default "from" a week before it
/// and the security chart's day fill had no day after 9999-12-31: both answered 500.
/// </summary>
public sealed class when_chart_times_lie_outside_the_stored_range(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("overview/usage?to=0001-01-02T00:00:00Z", "1900-01-01T00:00:00Z", "1900-01-01T00:00:00Z")]
    [InlineData("overview/errors?to=0001-01-02T00:00:00Z", "1900-01-01T00:00:00Z", "1900-01-01T00:00:00Z")]
    [InlineData("findings/over-time?to=0001-01-02T00:00:00Z", "1900-01-01T00:00:00Z", "1900-01-01T00:00:00Z")]
    [InlineData("overview/security?from=9999-12-25T00:00:00Z&to=9999-12-31T23:59:59Z", "2299-12-31T23:59:59Z", "2299-12-31T23:59:59Z")]
    [InlineData("overview/usage?from=2299-12-30T00:00:00Z&to=2300-01-02T00:00:00Z", "2299-12-30T00:00:00Z", "2299-12-31T23:59:59Z")]
    public async Task then_the_range_is_clamped_to_the_columns_and_answered(string path, string from, string to)
    {
        using var response = await fixture.Server.Client.GetAsync(new Uri($"/api/projects/default/{path}", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        var range = JsonNode.Parse(body)!;
        range["from"]!.GetValue<string>().ShouldBe(from);
        range["to"]!.GetValue<string>().ShouldBe(to);
    }

    [Fact]
    public async Task then_a_range_ending_at_the_first_instant_there_is_is_refused_naming_from()
    {
        using var response = await fixture.Server.Client.GetAsync(
            new Uri("/api/projects/default/overview/usage?to=0001-01-01T00:00:00Z", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body);
        JsonNode.Parse(body)!["errors"]!["from"].ShouldNotBeNull();
    }
}
