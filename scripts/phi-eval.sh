#!/usr/bin/env bash
# The PHI detector's evaluation command:
#
#   scripts/phi-eval.sh [--misses N]
#
# 1. a Python venv under .tools/phi-eval-venv (gitignored) with the pinned Faker
#    (phi/eval/requirements.txt), created once;
# 2. the labelled set, generated reproducibly into target/phi-eval/eval.jsonl
#    (generated data: never committed);
# 3. tools/phi-eval built in release and run: per-type precision/recall/F1,
#    share of PHI spans fully masked, false positives per 1,000 negative
#    messages, throughput (MB/s, one thread) and p99 latency per 4 KB message.
# Knobs: PHI_EVAL_SEED (default 20240605), PHI_EVAL_SET (score another JSONL
# file, e.g. a held-out set, instead of generating one).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SET=${PHI_EVAL_SET:-}
if [[ -z "$SET" ]]; then
    VENV="$ROOT/.tools/phi-eval-venv"
    if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import faker' 2>/dev/null; then
        echo "phi-eval: creating $VENV" >&2
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check -r phi/eval/requirements.txt
    fi
    "$VENV/bin/python" phi/eval/generate.py --out target/phi-eval --seed "${PHI_EVAL_SEED:-20240605}" >&2
    SET=target/phi-eval/eval.jsonl
fi

cargo build --release -p phi-eval >&2
exec "${CARGO_TARGET_DIR:-$ROOT/target}/release/phi-eval" "$SET" "$@"
