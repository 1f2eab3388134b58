namespace AgentStack.Projections.Analytics.ChDb;

/// <summary>
/// Finds libchdb.so. It is ~570 MB and never committed: <c>scripts/setup-chdb.sh</c> installs it
/// under <c>.deps/chdb</c> at the repository root, and a deployment either copies it next to the
/// binaries or names it in configuration.
/// </summary>
public static class ChDbLibrary
{
    public const string FileName = "libchdb.so";
    public const string EnvironmentVariable = "AgentStack__ChDb__LibraryPath";

    /// <summary>Where setup-chdb.sh puts the library, relative to the repository root.</summary>
    public static readonly string RepositoryRelativePath =
        Path.Combine(".deps", "chdb", "node_modules", "@chdb", "lib-linux-x64-gnu", FileName);

    /// <summary>
    /// Resolves the library: the configured path, else <see cref="EnvironmentVariable"/>, else
    /// <c>libchdb.so</c> beside the application, else <see cref="RepositoryRelativePath"/> under any
    /// ancestor of the application directory or of the current directory.
    /// </summary>
    public static string Resolve(string? configuredPath = null)
    {
        var explicitPath = string.IsNullOrWhiteSpace(configuredPath)
            ? Environment.GetEnvironmentVariable(EnvironmentVariable)
            : configuredPath;
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            // A path someone wrote down must not silently fall back to another copy.
            return File.Exists(explicitPath)
                ? Path.GetFullPath(explicitPath)
                : throw new AnalyticsException(
                    $"chDB library not found at '{explicitPath}' (from AgentStack:ChDb:LibraryPath / {EnvironmentVariable}). " +
                    "Run scripts/setup-chdb.sh or correct the path.");
        }

        var candidates = Candidates().Distinct(StringComparer.Ordinal).ToList();
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new AnalyticsException(
                $"chDB library ({FileName}) not found. Run scripts/setup-chdb.sh from the repository root, " +
                $"or set {EnvironmentVariable} to the full path of {FileName}. Looked in: {string.Join(", ", candidates)}");
    }

    private static IEnumerable<string> Candidates()
    {
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                yield return Path.Combine(directory.FullName, RepositoryRelativePath);
            }
        }
    }
}
