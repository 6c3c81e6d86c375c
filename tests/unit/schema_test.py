#!/usr/bin/env python3
"""The policy JSON Schema (policy/bulwark-policy.schema.json) against the
policies we ship and document, and against broken ones.

- The schema itself is a valid draft-07 schema.
- It accepts every document of every ```yaml block in docs/policy.md, of
  every file in config/policies.d and in tests/unit/schema/valid.
- It rejects every file in tests/unit/schema/invalid (at least one of its
  documents), and so does `bulwarkctl check` (exit status 1) when given.

Usage: schema_test.py SOURCE_DIR [BULWARKCTL]
Needs python3-jsonschema and python3-yaml (scripts/install-deps.sh).
"""
import json
import pathlib
import re
import subprocess
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:  # a test that cannot run fails, it does not skip
    print(f"schema_test: {e}; install python3-jsonschema and python3-yaml (scripts/install-deps.sh)",
          file=sys.stderr)
    sys.exit(1)


def yaml_blocks(markdown):
    """(line, text) of every ```yaml fenced block."""
    blocks, current, start, other = [], None, 0, False
    for n, line in enumerate(markdown.splitlines(), 1):
        if current is not None:
            if line.startswith("```"):
                blocks.append((start, "\n".join(current) + "\n"))
                current = None
            else:
                current.append(line)
        elif other:
            other = not line.startswith("```")
        elif line == "```yaml":
            current, start = [], n
        elif line.startswith("```"):
            other = True
    return blocks


def documents(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    src = pathlib.Path(sys.argv[1])
    ctl = sys.argv[2] if len(sys.argv) == 3 else None
    schema = json.loads((src / "policy" / "bulwark-policy.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    failures = []
    checked = {"valid": 0, "invalid": 0}

    def accept(name, text):
        docs = documents(text)
        if not docs:
            failures.append(f"{name}: no policy document")
        for i, doc in enumerate(docs):
            for err in validator.iter_errors(doc):
                where = "/".join(str(p) for p in err.absolute_path) or "(document)"
                failures.append(f"{name}: document {i + 1}: {where}: {err.message}")
        checked["valid"] += 1

    doc_md = src / "docs" / "policy.md"
    blocks = yaml_blocks(doc_md.read_text())
    if len(blocks) < 10:
        failures.append(f"{doc_md}: only {len(blocks)} yaml blocks found")
    for line, text in blocks:
        accept(f"{doc_md}:{line}", text)
    for pattern_dir in (src / "config" / "policies.d", src / "tests" / "unit" / "schema" / "valid"):
        files = sorted(p for p in pattern_dir.iterdir() if re.search(r"\.ya?ml$", p.name))
        if not files:
            failures.append(f"{pattern_dir}: no policy files")
        for p in files:
            accept(str(p), p.read_text())

    invalid = sorted((src / "tests" / "unit" / "schema" / "invalid").glob("*.yaml"))
    if len(invalid) < 10:
        failures.append(f"only {len(invalid)} invalid examples")
    for p in invalid:
        checked["invalid"] += 1
        docs = documents(p.read_text())
        if docs and all(validator.is_valid(d) for d in docs):
            failures.append(f"{p}: accepted by the schema, expected a rejection")
        if ctl:
            r = subprocess.run([ctl, "check", str(p)], capture_output=True, text=True)
            if r.returncode != 1:
                failures.append(f"{p}: bulwarkctl check exited {r.returncode}, expected 1\n{r.stderr}")

    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    print(f"schema_test: {checked['valid']} accepted texts, {checked['invalid']} rejected files, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
