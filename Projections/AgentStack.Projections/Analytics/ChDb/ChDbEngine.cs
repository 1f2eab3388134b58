namespace AgentStack.Projections.Analytics.ChDb;

/// <summary>
/// Book-keeping for the one ClickHouse engine a process can host. chdb.h: "The engine uses one
/// storage path per process: multiple connections to that same path may be open at once.
/// Connecting with a different path requires closing all existing connections first." Measured on
/// 26.7.3: a connect to a second path while the first is open just returns NULL, so we refuse it here
/// with a message instead. Closing the last connection shuts the engine down; the next connect boots
/// it again (verified on Linux; chdb.h warns that doing so many times corrupts the allocator on macOS,
/// which is why the product holds one store for the life of the process).
/// </summary>
internal static class ChDbEngine
{
    private static readonly Lock Gate = new();
    private static string? _openPath;
    private static int _connections;

    /// <summary>Opens one connection (a <c>chdb_connection*</c>) to the engine at <paramref name="dataPath"/>.</summary>
    public static nint Connect(ChDbNative native, string dataPath, IReadOnlyList<string> arguments)
    {
        // Serialised: chDB boots the engine inside the first connect, and our signal save/restore
        // around it must not interleave with another connect's.
        lock (Gate)
        {
            if (_connections > 0 && _openPath != dataPath)
            {
                throw new AnalyticsException(
                    $"chDB hosts one engine per process and it is open on '{_openPath}'; cannot also open '{dataPath}'. " +
                    "Share one ChDbAnalyticsStore (or its data path) across the process.");
            }

            var booting = _connections == 0;
            Directory.CreateDirectory(dataPath);
            // Before every connect, not only the first: something may have pointed standard input elsewhere since.
            if (ChDbStandardInput.Detach() is { } detached)
            {
                Console.Error.WriteLine($"AgentStack: standard input ({detached}) now reads /dev/null: chDB's inserts would wait on it, " +
                    "and nothing in AgentStack reads it (docs/projections.md, \"Standard input\").");
            }
            var connection = native.Connect([$"--path={dataPath}", .. arguments]);
            if (connection == 0)
            {
                throw ConnectFailed(dataPath, booting);
            }

            _openPath = dataPath;
            _connections++;
            return connection;
        }
    }

    public static void Close(ChDbNative native, nint connection)
    {
        lock (Gate)
        {
            native.Close(connection);
            if (--_connections == 0)
            {
                _openPath = null;
            }
        }
    }

    /// <summary>
    /// chdb_connect reports why it failed only on stderr. The usual cause is a second process on the
    /// same data directory ("Cannot lock file …/status"), which we can tell apart by trying the same
    /// flock ourselves: .NET takes flock(LOCK_EX | LOCK_NB) for FileShare.None on Unix.
    /// </summary>
    private static AnalyticsException ConnectFailed(string dataPath, bool booting)
    {
        var statusFile = Path.Combine(dataPath, "status");
        if (booting && File.Exists(statusFile))
        {
            try
            {
                using var probe = new FileStream(statusFile, FileMode.Open, FileAccess.Read, FileShare.None);
            }
            catch (IOException)
            {
                return new AnalyticsException(
                    $"chDB data directory '{dataPath}' is in use by another process (ClickHouse could not lock '{statusFile}'). " +
                    "Stop the other AgentStack process or give this one its own AgentStack:ChDb:DataPath.",
                    code: 76);
            }
        }

        return new AnalyticsException(
            $"chdb_connect failed for data directory '{dataPath}'; chDB printed the reason on stderr " +
            "(a bad --setting value fails the connection).");
    }
}
