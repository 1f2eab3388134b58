-- Which version of each detector runs now (issue 15.6, retroactive detection). Each detections projection
-- records its detectors' versions (run_by: the projection) when it starts working; the newest activated_at per detector is the
-- current version, whose findings the dashboard shows. Findings of earlier versions stay in
-- security_findings under their own detector_version (docs/security-engine.md).
CREATE TABLE IF NOT EXISTS agentstack.detector_versions
(
    detector LowCardinality(String),
    version String,
    run_by String,
    activated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(activated_at)
ORDER BY (detector, version);
