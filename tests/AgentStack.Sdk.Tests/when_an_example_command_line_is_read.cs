using AgentStack.Examples.ReRun;
using AgentStack.Examples.ResearchAgent;

namespace AgentStack.Sdk.Tests;

/// <summary>The examples' command lines (one reader for the demo agent and the re-run).</summary>
public sealed class when_an_example_command_line_is_read
{
    [Fact]
    public void then_values_and_flags_are_applied_in_order()
    {
        DemoOptions.TryParse(["--runs", "3", "--local", "--endpoint", "http://host:8080/", "--backfill-days", "0"], out var demo, out var error)
            .ShouldBeTrue(error);
        demo.Runs.ShouldBe(3);
        demo.ForceLocalModel.ShouldBeTrue();
        demo.Endpoint.ShouldBe(new Uri("http://host:8080/"));
        demo.BackfillDays.ShouldBe(0);
    }

    [Theory]
    [InlineData("--runs", "0")]
    [InlineData("--runs")]
    [InlineData("--endpoint", "not a uri")]
    [InlineData("--colour", "blue")]
    public void then_the_first_bad_argument_is_named(params string[] args)
    {
        DemoOptions.TryParse(args, out _, out var error).ShouldBeFalse();
        error.ShouldStartWith($"unknown or invalid argument '{args[0]}'");
    }

    [Fact]
    public void then_a_re_run_needs_its_trace()
    {
        ReRunOptions.TryParse(["--replay-steps", "2"], out _, out var error).ShouldBeFalse();
        error.ShouldBe("--trace is required (a 32-digit trace id)");

        var trace = new string('a', 32);
        ReRunOptions.TryParse(["--trace", trace, "--price", "12.50", "--project", "p1"], out var reRun, out error).ShouldBeTrue(error);
        (reRun.TraceId, reRun.Price, reRun.Project, reRun.ReplaySteps).ShouldBe((trace, 12.50m, "p1", 1));
    }
}
