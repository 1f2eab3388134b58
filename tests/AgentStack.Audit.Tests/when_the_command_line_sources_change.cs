using Shouldly;

namespace AgentStack.Audit.Tests;

/// <summary>
/// <c>./agentstack</c> runs the command line as last built. A source of it, or of a project it references, newer than
/// that build (an edit, a checkout, a pull) makes it build first, so nobody runs the code of an older checkout. The
/// build rewrites the binaries other commands run, so this class runs alone.
/// </summary>
[Collection(nameof(CommandLineBuild))]
public sealed class when_the_command_line_sources_change
{
    private static readonly string Binary = Path.Combine(Cli.RepositoryRoot, "tools/AgentStack.Cli/bin/Release/net10.0/agentstack.dll");

    [Fact]
    public async Task then_agentstack_builds_before_it_runs_and_only_then()
    {
        (await Cli.RunAsync()).ExitCode.ShouldBe(2); // the usage; builds first if this checkout has not been built
        var built = File.GetLastWriteTimeUtc(Binary);

        // A project the command line references, not the command line's own: its edit changes no line of agentstack.dll.
        File.SetLastWriteTimeUtc(Path.Combine(Cli.RepositoryRoot, "Queries/AgentStack.Audit/CheckpointStores.cs"), DateTime.UtcNow);
        var (exitCode, output) = await Cli.RunAsync();

        exitCode.ShouldBe(2, output);
        output.ShouldContain("agentstack verify");
        var rebuilt = File.GetLastWriteTimeUtc(Binary);
        rebuilt.ShouldBeGreaterThan(built);
        (await Cli.RunAsync()).ExitCode.ShouldBe(2);
        File.GetLastWriteTimeUtc(Binary).ShouldBe(rebuilt); // fresh now: no second build
    }
}

[CollectionDefinition(nameof(CommandLineBuild), DisableParallelization = true)]
public sealed class CommandLineBuild;
