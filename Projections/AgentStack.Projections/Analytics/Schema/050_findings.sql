-- Every finding of the detectors, one row per event (issue 15.5): a detection over a recorded span
-- (detection.recorded.v1), a guard block (guard.blocked.v1) or an anomaly (anomaly.detected.v1). Unlike
-- security_findings (one row per kind and span, for the trace view's panel), nothing collapses here: the
-- findings page lists and counts each one. Keyed by the log position of the event that recorded it, so a
-- re-applied batch or a rebuild collapses to the same rows (read with FINAL); detected_at comes from the
-- event, never the clock. source_position is the log position of the span event a detection was found in
-- (the Time Machine's step), 0 when none. The agent (root span name) is read from traces at query time.
CREATE TABLE IF NOT EXISTS agentstack.findings
(
    project LowCardinality(String),
    position UInt64,
    source_position UInt64,
    trace_id String,
    span_id String,
    kind LowCardinality(String),
    rule String,
    severity LowCardinality(String),
    score Float64,
    reason String,
    field String,
    start Int32,
    length Int32,
    action LowCardinality(String),
    detector LowCardinality(String),
    detector_version String,
    detected_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(position)
PARTITION BY toYYYYMM(detected_at)
ORDER BY (project, detected_at, position);
