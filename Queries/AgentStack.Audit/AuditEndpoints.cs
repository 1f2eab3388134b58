using System.Text.Json;
using AgentStack.Access;
using AgentStack.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace AgentStack.Audit;

public sealed record PublicKeyResponse(string Algorithm, string KeyId, string PublicKey);

public sealed record CheckpointList(IReadOnlyList<Checkpoint> Items);

public sealed record ConsistencyProofResponse(long FromSize, long ToSize, string FromRoot, string ToRoot, IReadOnlyList<string> Proof,
    Checkpoint? FromCheckpoint, Checkpoint? ToCheckpoint);

public sealed record InclusionProofResponse(string Stream, long Version, long Position, string EventHash, long LeafIndex, long TreeSize,
    string RootHash, IReadOnlyList<string> Proof, Checkpoint? Checkpoint);

/// <summary>
/// The audit API (issue 14, docs/audit.md): verification and signed exports per project (read scope of
/// that project), and the deployment's public key, checkpoints and consistency proofs, which hold no
/// project data and are public so that a third party can keep and check them.
/// </summary>
public static class AuditEndpoints
{
    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        // The same guard as the rest of the project API (AgentStack.Queries): another project's key gets 404.
        var project = app.MapGroup("/api/projects/{project}/audit").WithTags("Audit").RequireAuthorization(Scopes.Read)
            .AddEndpointFilter(async (context, next) =>
            {
                var name = context.HttpContext.GetRouteValue("project") as string ?? "";
                return context.HttpContext.User.CanAccess(name) ? await next(context) : TypedResults.NotFound();
            });
        project.MapGet("/verify", VerifyAsync).WithName("VerifyAudit")
            .WithSummary("Verifies the hash chains of a trace, a time range or the project, and the streams against the newest checkpoint")
            .Produces<VerificationReport>(StatusCodes.Status200OK, "application/json", "application/x-ndjson")
            .ProducesValidationProblem();
        project.MapGet("/export", ExportAsync).WithName("ExportAudit")
            .WithSummary("The stored events of a trace, a time range or the project as NDJSON, ending with a signed manifest")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson")
            .ProducesValidationProblem();
        project.MapGet("/proofs/inclusion", InclusionAsync).WithName("GetInclusionProof")
            .WithSummary("That a trace's event is in the log's Merkle tree of a checkpoint's size (RFC 6962)")
            .ProducesValidationProblem().Produces(StatusCodes.Status404NotFound);

        var audit = app.MapGroup("/api/audit").WithTags("Audit");
        audit.MapGet("/public-key", (AuditKey key) =>
                TypedResults.Ok(new PublicKeyResponse(AuditKey.Algorithm, key.KeyId, key.Public.Pem)))
            .WithName("GetAuditPublicKey").WithSummary("The deployment's key that signs checkpoints and exports").AllowAnonymous();
        audit.MapGet("/checkpoints", async (int? limit, ICheckpointStore store, CancellationToken ct) =>
                TypedResults.Ok(new CheckpointList(await store.ListAsync(Math.Clamp(limit ?? 20, 1, 1000), ct))))
            .WithName("ListCheckpoints").WithSummary("The newest signed checkpoints of the whole log").AllowAnonymous();
        audit.MapGet("/checkpoints/latest", GetLatestAsync).WithName("GetLatestCheckpoint").AllowAnonymous();
        audit.MapGet("/checkpoints/{treeSize:long}", GetBySizeAsync).WithName("GetCheckpoint").AllowAnonymous();
        audit.MapPost("/checkpoints", CreateAsync).WithName("CreateCheckpoint")
            .WithSummary("Signs a checkpoint of the log now (the background service does so every minute)")
            .RequireAuthorization(Scopes.Admin);
        audit.MapGet("/proofs/consistency", ConsistencyAsync).WithName("GetConsistencyProof")
            .WithSummary("That the log of size 'from' is a prefix of the log of size 'to' (RFC 6962 §2.1.2)")
            .ProducesValidationProblem().AllowAnonymous();
        return app;
    }

    private static async Task<IResult> VerifyAsync(HttpContext http, string project, string? traceId, string? from, string? to,
        LogVerifier verifier, CancellationToken ct)
    {
        if (!TryRange(from, to, out var start, out var end, out var problem))
            return problem!;
        var scope = VerificationScope.Project(project, string.IsNullOrEmpty(traceId) ? null : traceId, start, end);
        var ndjson = http.Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("application/x-ndjson", StringComparison.OrdinalIgnoreCase));
        if (!ndjson)
            return TypedResults.Ok(await verifier.VerifyAsync(scope, null, null, ct));

        // Progress lines while the log is read, then the report itself as the last line.
        var response = http.Response;
        response.ContentType = "application/x-ndjson";
        response.Headers.CacheControl = "no-cache";
        response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        await response.StartAsync(ct);
        var progress = System.Threading.Channels.Channel.CreateBounded<VerificationProgress>(
            new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropOldest });
        var verifying = verifier.VerifyAsync(scope, null, p => progress.Writer.TryWrite(p), ct);
        _ = verifying.ContinueWith(_ => progress.Writer.TryComplete(), TaskScheduler.Default);
        await foreach (var p in progress.Reader.ReadAllAsync(ct))
        {
            await JsonSerializer.SerializeAsync(response.Body, new { progress = p }, AuditJson.Options, ct);
            await response.Body.WriteAsync("\n"u8.ToArray(), ct);
            await response.Body.FlushAsync(ct);
        }
        await JsonSerializer.SerializeAsync(response.Body, await verifying, AuditJson.Options, ct);
        await response.Body.WriteAsync("\n"u8.ToArray(), ct);
        return TypedResults.Empty;
    }

    private static async Task<IResult> ExportAsync(HttpContext http, string project, string? traceId, string? from, string? to,
        AuditExportWriter writer, CancellationToken ct)
    {
        if (!TryRange(from, to, out var start, out var end, out var problem))
            return problem!;
        if (!string.IsNullOrEmpty(traceId) && (start is not null || end is not null))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["traceId"] = ["give traceId or from/to, not both"] });
        var response = http.Response;
        response.ContentType = "application/x-ndjson";
        response.Headers.CacheControl = "no-cache";
        response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        var name = string.IsNullOrEmpty(traceId) ? project : $"{project}-{traceId}";
        response.Headers.ContentDisposition = $"attachment; filename=\"audit-{SafeFileName(name)}.ndjson\"";
        await writer.WriteAsync(response.BodyWriter, project, string.IsNullOrEmpty(traceId) ? null : traceId, start, end, ct);
        return TypedResults.Empty;
    }

    private static async Task<Results<Ok<Checkpoint>, NotFound>> GetLatestAsync(ICheckpointStore store, CancellationToken ct) =>
        (await store.GetLatestAsync(ct)) is { } latest ? TypedResults.Ok(latest.Checkpoint) : TypedResults.NotFound();

    private static async Task<Results<Ok<Checkpoint>, NotFound>> GetBySizeAsync(long treeSize, ICheckpointStore store, CancellationToken ct) =>
        await store.GetAsync(treeSize, ct) is { } checkpoint ? TypedResults.Ok(checkpoint) : TypedResults.NotFound();

    private static async Task<Results<Ok<Checkpoint>, NotFound, ProblemHttpResult>> CreateAsync(Checkpointer checkpointer, CancellationToken ct)
    {
        try
        {
            return await checkpointer.CreateAsync(ct) is { } checkpoint ? TypedResults.Ok(checkpoint) : TypedResults.NotFound();
        }
        catch (InvalidDataException e)
        {
            // The log lost events since the last checkpoint: nothing is signed, and verification names the break.
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status409Conflict, title: "The log cannot be checkpointed");
        }
    }

    private static async Task<Results<Ok<ConsistencyProofResponse>, ValidationProblem>> ConsistencyAsync(long? from, long? to,
        ProofBuilder proofs, ICheckpointStore store, CancellationToken ct)
    {
        if (from is null or < 1)
            return Invalid("from", "from must be a tree size of 1 or more");
        if (to is null || to < from)
            return Invalid("to", "to must be a tree size no smaller than from");
        var leaves = await proofs.ReadLeavesAsync(to.Value, ct);
        if (leaves is null)
            return Invalid("to", $"the log holds no tree of size {to} (it is smaller, or has a hole)");
        var proof = MerkleTree.ConsistencyProof(leaves, from.Value, to.Value);
        return TypedResults.Ok(new ConsistencyProofResponse(from.Value, to.Value,
            Convert.ToHexStringLower(MerkleTree.Root(leaves, 0, from.Value)), Convert.ToHexStringLower(MerkleTree.Root(leaves, 0, to.Value)),
            proof.Select(Convert.ToHexStringLower).ToList(), await store.GetAsync(from.Value, ct), await store.GetAsync(to.Value, ct)));
    }

    private static async Task<Results<Ok<InclusionProofResponse>, ValidationProblem, NotFound>> InclusionAsync(string project,
        string? traceId, long? version, long? treeSize, RawEventStore raw, ProofBuilder proofs, ICheckpointStore store, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(traceId))
            return Invalid("traceId", "traceId is required");
        if (version is null or < 1)
            return Invalid("version", "version must be 1 or more");
        var stream = TraceStream.Name(project, traceId);
        var e = await raw.Store.ReadStreamAsync(stream, version.Value, ct).FirstOrDefaultAsync(ct);
        // trace-{project}-{traceId} names one stream for project "a", trace "b-x" and project "a-b", trace "x".
        if (e is null || e.Version != version || TraceStream.ProjectOf(e.Data) is { } owner && owner != project)
            return TypedResults.NotFound();
        var checkpoint = treeSize is null ? (await store.GetLatestAsync(ct))?.Checkpoint : await store.GetAsync(treeSize.Value, ct);
        var size = treeSize ?? checkpoint?.TreeSize ?? await raw.Store.GetLastPositionAsync(ct);
        if (e.Position > size)
            return Invalid("treeSize", $"the event is at position {e.Position}, after tree size {size}");
        var leaves = await proofs.ReadLeavesAsync(size, ct);
        if (leaves is null)
            return Invalid("treeSize", $"the log holds no tree of size {size} (it is smaller, or has a hole)");
        var proof = MerkleTree.InclusionProof(leaves, e.Position - 1, size);
        return TypedResults.Ok(new InclusionProofResponse(stream, e.Version, e.Position, e.Hash, e.Position - 1, size,
            Convert.ToHexStringLower(MerkleTree.Root(leaves, 0, size)), proof.Select(Convert.ToHexStringLower).ToList(), checkpoint));
    }

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    private static bool TryRange(string? from, string? to, out DateTimeOffset? start, out DateTimeOffset? end, out IResult? problem)
    {
        start = end = null;
        problem = null;
        if (!string.IsNullOrEmpty(from))
        {
            if (!Timestamps.TryParse(from, out var s)) { problem = Invalid("from", "from must be an RFC 3339 time"); return false; }
            start = s;
        }
        if (!string.IsNullOrEmpty(to))
        {
            if (!Timestamps.TryParse(to, out var e)) { problem = Invalid("to", "to must be an RFC 3339 time"); return false; }
            end = e;
        }
        if (start is not null && end is not null && end <= start)
        {
            problem = Invalid("to", "to must be after from");
            return false;
        }
        return true;
    }

    private static string SafeFileName(string name) =>
        new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
