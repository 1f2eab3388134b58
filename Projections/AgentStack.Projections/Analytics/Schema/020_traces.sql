-- One row per trace, recomputed from spans FINAL for every trace a projection batch touches, so it is
-- always a pure function of the spans (a rebuild gives the same rows). Versioned by the highest
-- position among its spans. Not partitioned by time: a late span can move a trace's start.
CREATE TABLE IF NOT EXISTS agentstack.traces
(
    project LowCardinality(String),
    trace_id String,
    name String,
    start_time DateTime64(6, 'UTC'),
    end_time Nullable(DateTime64(6, 'UTC')),
    duration_ms Nullable(Float64),
    span_count UInt32,
    open_span_count UInt32,
    error_count UInt32,
    input_tokens Int64,
    output_tokens Int64,
    cost_usd Decimal(18, 9),
    models Array(String),
    position UInt64
)
ENGINE = ReplacingMergeTree(position)
ORDER BY (project, trace_id);
