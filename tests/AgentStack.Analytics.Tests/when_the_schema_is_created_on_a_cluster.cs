using AgentStack.Projections.Analytics;

namespace AgentStack.Analytics.Tests;

/// <summary>
/// The cluster form of the schema (issue 4) is derived from the same .sql files. No cluster (ZooKeeper or
/// Keeper, several servers) can run here, so these check the generated DDL text; docs/distributed.md says
/// what was and was not run.
/// </summary>
public sealed class when_the_schema_is_created_on_a_cluster
{
    private static IReadOnlyList<string> ClusterStatements() =>
        AnalyticsSchema.Scripts().SelectMany(s => AnalyticsSchema.Statements(s.Sql)).SelectMany(s => AnalyticsSchema.ForCluster(s, "agentstack_cluster")).ToList();

    [Fact]
    public void then_the_database_is_created_on_every_node()
    {
        AnalyticsSchema.ForCluster("-- a comment\nCREATE DATABASE IF NOT EXISTS agentstack", "c1")
            .ShouldBe(["CREATE DATABASE IF NOT EXISTS agentstack ON CLUSTER `c1`"]);
    }

    [Fact]
    public void then_spans_become_a_replicated_local_table_behind_a_distributed_table_sharded_by_trace()
    {
        var spans = AnalyticsSchema.Statements(AnalyticsSchema.Scripts().Single(s => s.Name == "010_spans.sql").Sql).Single();

        var statements = AnalyticsSchema.ForCluster(spans, "c1");

        statements.Count.ShouldBe(2);
        var local = statements[0];
        local.ShouldStartWith("CREATE TABLE IF NOT EXISTS agentstack.spans_local ON CLUSTER `c1`\n(");
        local.ShouldContain("    trace_id String,");
        local.ShouldContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', position)\n");
        local.ShouldContain("PARTITION BY toYYYYMM(start_time)\nORDER BY (project, trace_id, span_id)\n" +
            "TTL " + AgentStack.Projections.Retention.RetentionTables.Ttl + "\n"); // retention (issue 17.3) on the replicas
        local.ShouldEndWith("\nSETTINGS " + AgentStack.Projections.Spans.SpansSchema.MergeSetting); // merges (issue 13) on the replicas too
        statements[1].ShouldBe(
            "CREATE TABLE IF NOT EXISTS agentstack.spans ON CLUSTER `c1` AS agentstack.spans_local\n" +
            "ENGINE = Distributed('c1', agentstack, spans_local, cityHash64(trace_id))");
    }

    [Fact]
    public void then_a_table_without_trace_id_is_sharded_by_its_sorting_key()
    {
        var statements = AnalyticsSchema.ForCluster(
            "CREATE TABLE IF NOT EXISTS agentstack.projection_checkpoints\n(\n    name String,\n    position UInt64\n)\nENGINE = ReplacingMergeTree(position)\nORDER BY name",
            "c1");

        statements[0].ShouldContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', position)");
        statements[1].ShouldEndWith("ENGINE = Distributed('c1', agentstack, projection_checkpoints_local, cityHash64(name))");
    }

    [Fact]
    public void then_an_engine_without_arguments_gets_only_the_replication_arguments()
    {
        var statements = AnalyticsSchema.ForCluster("CREATE TABLE IF NOT EXISTS a.t\n(\n    k String\n)\nENGINE = MergeTree\nORDER BY (k, k)", "c1");

        statements[0].ShouldContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')\nORDER BY (k, k)");
        statements[1].ShouldEndWith("cityHash64(k, k))");
    }

    [Fact]
    public void then_every_embedded_table_gets_both_forms_and_every_name_the_queries_use_is_distributed()
    {
        var statements = ClusterStatements();

        statements.ShouldAllBe(s => s.Contains("ON CLUSTER `agentstack_cluster`"));
        foreach (var table in new[] { "spans", "traces", "projection_checkpoints", "security_findings", "findings" })
        {
            statements.ShouldContain(s => s.StartsWith($"CREATE TABLE IF NOT EXISTS agentstack.{table}_local ON CLUSTER", StringComparison.Ordinal)
                // traces merges per-batch partial summaries (issue 13.4); the others replace rows by position.
                && s.Contains(table == "traces" ? "ENGINE = ReplicatedAggregatingMergeTree(" : "ENGINE = ReplicatedReplacingMergeTree("));
            statements.ShouldContain(s => s.StartsWith($"CREATE TABLE IF NOT EXISTS agentstack.{table} ON CLUSTER", StringComparison.Ordinal)
                && s.Contains($"ENGINE = Distributed('agentstack_cluster', agentstack, {table}_local, "));
        }

        statements.Count(s => s.Contains("cityHash64(trace_id)")).ShouldBe(4, "spans, traces, security_findings and findings keep a trace on one shard");
    }

    [Fact]
    public void then_a_statement_with_no_cluster_form_is_refused()
    {
        Should.Throw<NotSupportedException>(() => AnalyticsSchema.ForCluster("CREATE VIEW agentstack.v AS SELECT 1", "c1"))
            .Message.ShouldContain("AnalyticsSchema.ForCluster");
        Should.Throw<NotSupportedException>(() => AnalyticsSchema.ForCluster("CREATE TABLE IF NOT EXISTS a.m (k String) ENGINE = Memory", "c1"));
    }

    [Theory]
    [InlineData("c1`; DROP DATABASE agentstack; --")]
    [InlineData("two words")]
    [InlineData("c1\n")]
    [InlineData("")]
    public void then_a_cluster_name_that_is_not_plain_is_refused(string cluster) =>
        Should.Throw<ArgumentException>(() => AnalyticsSchema.ForCluster("CREATE DATABASE IF NOT EXISTS agentstack", cluster))
            .Message.ShouldContain("AgentStack:Analytics:Cluster");
}
