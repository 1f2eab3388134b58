namespace AgentStack.EndToEndTests.Isolation;

/// <summary>What an endpoint requires of its caller.</summary>
public enum Requires
{
    /// <summary>No key: it answers anyone (and must still leak nothing).</summary>
    Anyone,
    Ingest,
    Read,
    Admin,

    /// <summary>An admin key of project <c>default</c>, the operator's (creating projects, projection operations).</summary>
    Operator,
}

/// <summary>Whose data an endpoint reaches.</summary>
public enum Reach
{
    /// <summary>A route under <c>/api/projects/{project}</c>: another project's key gets 404 there.</summary>
    Project,

    /// <summary>The caller's own project or none (ingestion writes into the key's project): another project's key is served, and must see nothing of ours.</summary>
    Own,
}

/// <summary>One row of the isolation matrix: the route exactly as the OpenAPI document names it.</summary>
public sealed record EndpointRule(string Method, string Route, Requires Requires, Reach Reach)
{
    public string Key => $"{Method} {Route}";
}

/// <summary>
/// The isolation rule of every endpoint the server describes at <c>/openapi/v1.json</c> (issue 17, item 4).
/// <see cref="when_every_endpoint_meets_every_kind_of_key"/> fails for an endpoint without a row here: a new
/// endpoint gets its rule (required scope, and whether it reaches a project's data) before it can ship.
/// </summary>
public static class EndpointRules
{
    public static readonly IReadOnlyList<EndpointRule> All =
    [
        // Ingestion.
        new("POST", "/v1/spans", Requires.Ingest, Reach.Own),
        new("POST", "/v1/traces", Requires.Ingest, Reach.Own),

        // Reads, overview, findings, replay.
        new("GET", "/api/projects/{project}/traces", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/traces/{traceId}", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/traces/{traceId}/replay", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/traces/{traceId}/findings", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/trace-search", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/overview/usage", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/overview/security", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/overview/latency", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/overview/errors", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/overview/models", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/overview/filters", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/findings", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/findings/over-time", Requires.Read, Reach.Project),

        // Administration.
        new("POST", "/api/projects", Requires.Operator, Reach.Own),
        new("GET", "/api/projects", Requires.Admin, Reach.Own),
        new("PATCH", "/api/projects/{project}", Requires.Admin, Reach.Project),
        new("POST", "/api/projects/{project}/archive", Requires.Admin, Reach.Project),
        new("POST", "/api/projects/{project}/keys", Requires.Admin, Reach.Project),
        new("GET", "/api/projects/{project}/keys", Requires.Admin, Reach.Project),
        new("DELETE", "/api/projects/{project}/keys/{keyId}", Requires.Admin, Reach.Project),
        new("POST", "/api/projects/{project}/keys/{keyId}/rotate", Requires.Admin, Reach.Project),
        new("GET", "/api/projects/{project}/access/history", Requires.Admin, Reach.Project),

        // Projections (operations): deployment-wide, so the operator's admin key only (Policies.Operator).
        new("GET", "/api/projections", Requires.Operator, Reach.Own),
        new("GET", "/api/projections/{name}/wait", Requires.Operator, Reach.Own),

        // Security (issue 15): the guard screens text for the key's own project; alert rules are a project's.
        new("POST", "/v1/guard", Requires.Ingest, Reach.Own),
        new("GET", "/api/projects/{project}/alerts/rules", Requires.Admin, Reach.Project),
        new("POST", "/api/projects/{project}/alerts/rules", Requires.Admin, Reach.Project),
        new("DELETE", "/api/projects/{project}/alerts/rules/{ruleId}", Requires.Admin, Reach.Project),

        // Sessions and comparison (issue 16).
        new("GET", "/api/projects/{project}/compare", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/sessions", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/sessions/{sessionId}", Requires.Read, Reach.Project),

        // Projection operations (issue 14.6): deployment-wide, the operator's admin key only.
        new("POST", "/api/projections/{name}/rebuild", Requires.Operator, Reach.Own),
        new("POST", "/api/projections/{name}/pause", Requires.Operator, Reach.Own),
        new("POST", "/api/projections/{name}/resume", Requires.Operator, Reach.Own),

        // Audit and erasure (issue 14): a project's history is read scope, erasure admin; the deployment's key,
        // its signed checkpoints and consistency proofs are public (anyone may hold and check them).
        new("POST", "/api/projects/{project}/subjects/{subject}/erase", Requires.Admin, Reach.Project),
        // Retention per project (issue 17.3): the policy and what it removed are the project's admins' business (and
        // the operator's, who is not among the matrix's callers).
        new("GET", "/api/projects/{project}/retention", Requires.Admin, Reach.Project),
        new("PUT", "/api/projects/{project}/retention", Requires.Admin, Reach.Project),
        new("GET", "/api/projects/{project}/audit/verify", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/audit/export", Requires.Read, Reach.Project),
        new("GET", "/api/projects/{project}/audit/proofs/inclusion", Requires.Read, Reach.Project),
        new("GET", "/api/audit/public-key", Requires.Anyone, Reach.Own),
        new("GET", "/api/audit/checkpoints", Requires.Anyone, Reach.Own),
        new("POST", "/api/audit/checkpoints", Requires.Admin, Reach.Own),
        new("GET", "/api/audit/checkpoints/latest", Requires.Anyone, Reach.Own),
        new("GET", "/api/audit/checkpoints/{treeSize}", Requires.Anyone, Reach.Own),
        new("GET", "/api/audit/proofs/consistency", Requires.Anyone, Reach.Own),

        // Dashboard session (sign-in itself, GET /signin, is not in the document: tested on its own).
        new("GET", "/api/session", Requires.Anyone, Reach.Own),
        new("POST", "/signout", Requires.Anyone, Reach.Own),
    ];

    /// <summary>
    /// The rule of every gRPC method the server maps, as <c>/package.Service/Method</c> (Method "GRPC"): listed by gRPC
    /// server reflection, checked by <see cref="when_every_grpc_method_meets_every_kind_of_key"/>.
    /// </summary>
    public static readonly IReadOnlyList<EndpointRule> Grpc =
    [
        new("GRPC", "/opentelemetry.proto.collector.trace.v1.TraceService/Export", Requires.Ingest, Reach.Own),
        // The list of services itself: public, it holds no project's data.
        new("GRPC", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Requires.Anyone, Reach.Own),
        new("GRPC", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Requires.Anyone, Reach.Own),
    ];

    /// <summary>A value for each route parameter the matrix knows; an unknown one gets a harmless placeholder.</summary>
    public static string Fill(string route, IReadOnlyDictionary<string, string> values) =>
        System.Text.RegularExpressions.Regex.Replace(route, @"\{(?<name>[^}:?]+)[^}]*\}",
            m => Uri.EscapeDataString(values.TryGetValue(m.Groups["name"].Value, out var value) ? value : "x"));
}
