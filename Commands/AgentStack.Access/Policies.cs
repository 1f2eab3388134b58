namespace AgentStack.Access;

/// <summary>Authorization policies beyond the one per scope (<see cref="Scopes"/>, whose names are policies too).</summary>
public static class Policies
{
    /// <summary>
    /// The deployment's operator: an admin key of project <c>default</c> (<see cref="AccessBootstrap.DefaultProject"/>,
    /// the project the bootstrap key belongs to). Deployment-wide operations (the projections under
    /// <c>/api/projections</c>) need it: another project's admin key administers only that project (docs/security.md).
    /// </summary>
    public const string Operator = "operator";
}
