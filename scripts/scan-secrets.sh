#!/usr/bin/env bash
# Secret scan of the tracked files (issue 17): private keys, cloud and provider tokens, credentials in
# URLs. The same script runs here, in ./test.sh and in the GitHub workflow (gitleaks cannot be installed
# here). Paths in .secretscan-allow (one glob per line, with the reason in a comment) hold deliberate
# fakes, e.g. the detectors' test cases; a real secret there would still be a mistake, so keep it short.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
python3 - <<'PY'
import fnmatch, re, subprocess, sys
patterns = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |PGP |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{60,}\b"),
    "OpenAI key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}\b"),
    "Anthropic key": re.compile(r"\bsk-ant-[A-Za-z0-9_-]{32,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    "Stripe live key": re.compile(r"\b[rs]k_live_[A-Za-z0-9]{20,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "credentials in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?!guest@|agentstack@|postgres@|password@|\$|\{)[^/\s:@'\"]{6,}@"),
}
allow = []
try:
    for line in open(".secretscan-allow"):
        line = line.split("#", 1)[0].strip()
        if line:
            allow.append(line)
except FileNotFoundError:
    pass
files = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout.decode().split("\0")
findings, scanned = [], 0
for path in filter(None, files):
    if any(fnmatch.fnmatch(path, a) for a in allow):
        continue
    try:
        text = open(path, encoding="utf-8", errors="strict").read()
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        continue
    scanned += 1
    for number, line in enumerate(text.splitlines(), 1):
        for kind, pattern in patterns.items():
            if pattern.search(line):
                findings.append(f"{path}:{number}: {kind}")
for f in findings:
    print("secret:", f)
print(f"secret scan: {len(findings)} findings in {scanned} tracked text files")
sys.exit(1 if findings else 0)
PY
