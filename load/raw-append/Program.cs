using System.Threading.Channels;
using Microsoft.Data.Sqlite;

// The raw limit (issue 13): an ASP.NET minimal API that appends each request body, as received, to a SQLite WAL
// with group commit and fsync (synchronous=FULL), and answers 200 once the body is durable. Nothing else: no
// parsing, no validation, no hashing, no events. load/bench.sh runs the same wrk script against it in the same run
// and reports AgentStack's durable spans/s as a ratio to it.
//   dotnet load/raw-append/bin/Release/net10.0/RawAppend.dll --urls http://127.0.0.1:5199 --db /tmp/raw.db
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var log = new GroupCommitLog(builder.Configuration["db"] ?? Path.Combine(Path.GetTempPath(), "raw-append.db"));
app.MapGet("/health/ready", () => "ok");
app.MapPost("/{**path}", async (HttpRequest request) =>
{
    using var body = new MemoryStream((int)(request.ContentLength ?? 64 * 1024));
    await request.Body.CopyToAsync(body, request.HttpContext.RequestAborted);
    await log.AppendAsync(body.ToArray());
    return Results.Ok();
});
app.Run();

/// <summary>One writer: takes every body waiting, inserts them in one transaction, commits (one fsync), answers all.</summary>
internal sealed class GroupCommitLog
{
    private readonly Channel<(byte[] Body, TaskCompletionSource Done)> pending =
        Channel.CreateUnbounded<(byte[], TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });

    public GroupCommitLog(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; " +
                "CREATE TABLE IF NOT EXISTS log (position INTEGER PRIMARY KEY, body BLOB NOT NULL);";
            setup.ExecuteNonQuery();
        }
        _ = Task.Factory.StartNew(() => WriteLoop(connection), TaskCreationOptions.LongRunning);
    }

    public Task AppendAsync(byte[] body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pending.Writer.TryWrite((body, done));
        return done.Task;
    }

    private void WriteLoop(SqliteConnection connection)
    {
        var batch = new List<(byte[] Body, TaskCompletionSource Done)>();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO log (body) VALUES ($body)";
        var parameter = insert.Parameters.Add("$body", SqliteType.Blob);
        while (pending.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (pending.Reader.TryRead(out var item))
                batch.Add(item);
            try
            {
                using var transaction = connection.BeginTransaction();
                insert.Transaction = transaction;
                foreach (var (body, _) in batch)
                {
                    parameter.Value = body;
                    insert.ExecuteNonQuery();
                }
                transaction.Commit();
                foreach (var (_, done) in batch)
                    done.SetResult();
            }
            catch (SqliteException e)
            {
                foreach (var (_, done) in batch)
                    done.SetException(e);
            }
            batch.Clear();
        }
    }
}
