#!/usr/bin/env bash
# Checks the GitHub workflows here as in CI (issue 17): yamllint, then a structural check of our own
# (no actionlint here): every job has runs-on, a timeout and steps; every step either uses a pinned
# action or runs a command; every script a step runs exists and is executable; CI cancels superseded
# runs; the release runs on v* tags. Also refuses a package registry's host name anywhere in the
# tracked files (registries come from the clients' defaults and the repository's settings).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
yamllint -s .github/workflows docker-compose.yml
python3 - <<'PY'
import glob, os, re, subprocess, sys
import yaml
errors, jobs_checked, steps_checked = [], 0, 0
workflows = {}
for path in sorted(glob.glob(".github/workflows/*.yml")):
    # yaml 1.1 reads the key `on` as True.
    doc = yaml.safe_load(open(path))
    workflows[os.path.basename(path)] = doc
    on = doc.get("on", doc.get(True))
    if not doc.get("name"): errors.append(f"{path}: no name")
    if not on: errors.append(f"{path}: no trigger (on:)")
    jobs = doc.get("jobs") or {}
    if not jobs: errors.append(f"{path}: no jobs")
    for job_name, job in jobs.items():
        jobs_checked += 1
        where = f"{path}: job {job_name}"
        if "runs-on" not in job: errors.append(f"{where}: no runs-on")
        if "timeout-minutes" not in job: errors.append(f"{where}: no timeout-minutes")
        for need in ([job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", [])):
            if need not in jobs: errors.append(f"{where}: needs unknown job {need}")
        steps = job.get("steps") or []
        if not steps: errors.append(f"{where}: no steps")
        for i, step in enumerate(steps):
            steps_checked += 1
            if ("uses" in step) == ("run" in step):
                errors.append(f"{where} step {i + 1}: needs exactly one of uses/run")
            if "uses" in step and not re.search(r"@[\w.-]+$", step["uses"]):
                errors.append(f"{where} step {i + 1}: action {step['uses']} is not pinned to a version")
            if "run" in step:
                base = step.get("working-directory", ".")
                for script in re.findall(r"(?<![\w/.-])((?:\./)?(?:scripts/[\w.-]+|\.ci/run|load/[\w./-]+\.(?:sh|js)|[\w-]+\.sh))", step["run"]):
                    candidate = os.path.normpath(os.path.join(base, script))
                    if not os.path.exists(candidate):
                        errors.append(f"{where} step {i + 1}: runs {script}, which does not exist")
                    elif candidate.endswith(".sh") and not os.access(candidate, os.X_OK) and not re.search(r"bash\s+" + re.escape(script), step["run"]):
                        errors.append(f"{where} step {i + 1}: {script} is not executable")
ci = workflows.get("ci.yml", {})
if not (ci.get("concurrency") or {}).get("cancel-in-progress"):
    errors.append("ci.yml: superseded runs are not cancelled (concurrency.cancel-in-progress)")
release = workflows.get("release.yml")
if release is None:
    errors.append("release.yml: missing")
else:
    tags = ((release.get("on", release.get(True)) or {}).get("push") or {}).get("tags") or []
    if "v*" not in tags: errors.append("release.yml: not triggered by v* tags")
hosts = re.compile(r"(?i)\b(?:api\.nuget\.org|nuget\.org|registry\.npmjs\.org|npmjs\.(?:org|com)|registry\.yarnpkg\.com|pypi\.org|ghcr\.io|docker\.io|registry-1\.docker\.io|quay\.io|mcr\.microsoft\.com|proxy\.golang\.org)\b")
files = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout.decode().split("\0")
for path in filter(None, files):
    if path.endswith("package-lock.json") or path == "scripts/check-workflows.sh":
        continue
    try:
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            if hosts.search(line):
                errors.append(f"{path}:{n}: names a package registry's host")
    except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
        pass
for e in errors:
    print("workflow check:", e)
print(f"workflows: {len(workflows)} files, {jobs_checked} jobs, {steps_checked} steps checked, {len(errors)} problems")
sys.exit(1 if errors else 0)
PY
