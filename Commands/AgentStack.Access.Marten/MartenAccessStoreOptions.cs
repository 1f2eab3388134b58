namespace AgentStack.Access.Marten;

/// <summary>
/// Where the distributed topology keeps projects and keys: a PostgreSQL database and the schema of their
/// document tables. By default the event store's schema, so one schema holds the log and the documents.
/// </summary>
/// <param name="Pepper">The pepper of the keyed secret hash (<c>AgentStack:Access:Pepper</c>); null: one kept in the schema.</param>
public sealed record MartenAccessStoreOptions(string ConnectionString, string Schema = "agentstack", string? Pepper = null);
