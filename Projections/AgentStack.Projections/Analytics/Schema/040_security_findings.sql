-- Findings of the detection engines (issue 7 builds the table and the dashboard's trend lines; the
-- detectors of a later issue fill it). One row per finding, keyed by what it is about and its kind;
-- versioned by the log position of the event that recorded it, so a re-run or a rebuild collapses
-- (read with FINAL). kind: prompt_injection, pii, anomaly, ...; action: allow or block.
-- detector/detector_version name what found it (empty for guard blocks): each version of a detector keeps
-- its own rows, so a new version re-run over history (issue 15.6) neither replaces nor doubles the earlier
-- one's; reads show the current version (agentstack.detector_versions) unless asked for another.
CREATE TABLE IF NOT EXISTS agentstack.security_findings
(
    project LowCardinality(String),
    trace_id String,
    span_id String,
    kind LowCardinality(String),
    action LowCardinality(String),
    score Float64,
    reason String,
    detected_at DateTime64(6, 'UTC'),
    position UInt64,
    detector LowCardinality(String) DEFAULT '',
    detector_version LowCardinality(String) DEFAULT ''
)
ENGINE = ReplacingMergeTree(position)
PARTITION BY toYYYYMM(detected_at)
ORDER BY (project, kind, trace_id, span_id, detector_version);
