namespace AgentStack.Access.Marten;

/// <summary>
/// Where the distributed topology keeps projects and keys: a PostgreSQL database and the schema of their
/// document tables. By default the event store's schema, so one schema holds the log and the documents.
/// </summary>
public sealed record MartenAccessStoreOptions(string ConnectionString, string Schema = "agentstack");
