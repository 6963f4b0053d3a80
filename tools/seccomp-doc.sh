#!/usr/bin/env bash
# Rewrites the allow-lists at the end of docs/security.md from the table in
# src/sandbox_rules.c (`petrel run --seccomp=list`); tests/unit/test_sandbox.c
# fails until this has been run after a change to the table.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/petrel
doc=docs/security.md
head=$(sed -n '1,/^## The allow-lists$/p' "$doc")
{ printf '%s\n\n' "$head"; build/petrel run --seccomp=list; } >"$doc.new"
mv "$doc.new" "$doc"
