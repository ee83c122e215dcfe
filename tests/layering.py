#!/usr/bin/env python3
"""Fails when a runtime stage includes a stage above it.

Each folder of runtime/ is a stage; a file may include headers of its own stage and of the stages
its stage depends on, directly or not (STAGES below, the map docs/ARCHITECTURE.md shows). Only
cli/ may include CLI11, and nothing but pg/ (and the stages above it that talk to the server) may
include libpq. `--self-test` checks the checker on a small tree with one violation of each kind.
"""
import pathlib
import re
import sys
import tempfile

# stage -> the stages it may include directly (the rest follows transitively)
STAGES = {
    "model": [],
    "pg": [],
    "signals": [],
    "load": ["model", "signals"],
    "validate": ["model"],
    "order": ["model"],
    "pipeline": ["load", "validate", "order"],
    "embedded": ["pg", "signals", "model"],
    "database": ["embedded"],
    "introspect": ["pg", "model"],
    "plan": ["model", "order"],
    "apply": ["pipeline", "plan", "introspect"],
    "host": ["apply", "database", "signals"],
    "cli": ["host"],
}
LIBPQ_STAGES = {"pg", "embedded", "database", "introspect", "apply", "host", "cli"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def closure(stage):
    seen, todo = set(), [stage]
    while todo:
        for below in STAGES[todo.pop()]:
            if below not in seen:
                seen.add(below)
                todo.append(below)
    return seen | {stage}


def violations(runtime):
    found = []
    for path in sorted(runtime.rglob("*")):
        if path.suffix not in (".hpp", ".cpp", ".h"):
            continue
        stage = path.relative_to(runtime).parts[0]
        if stage not in STAGES:
            found.append(f"{path}: folder {stage}/ is not a known stage (add it to tests/layering.py and the docs)")
            continue
        allowed = closure(stage)
        for kind, target in INCLUDE.findall(path.read_text()):
            where = f"{path.relative_to(runtime.parent)}: includes {target}"
            if kind == '"':
                other = target.split("/")[0]
                if other in STAGES and other not in allowed:
                    found.append(f"{where}, but {stage}/ may include only {', '.join(sorted(allowed))}")
            elif target.startswith("CLI/") and stage != "cli":
                found.append(f"{where}: only cli/ parses options")
            elif target == "libpq-fe.h" and stage not in LIBPQ_STAGES:
                found.append(f"{where}: {stage}/ must not depend on libpq")
    return found


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        runtime = pathlib.Path(tmp) / "runtime"
        files = {
            "model/a.hpp": '#include <string>\n',
            "plan/p.cpp": '#include "model/a.hpp"\n#include "introspect/catalog.hpp"\n#include <libpq-fe.h>\n',
            "apply/m.hpp": '#include "cli/plugin_set.hpp"\n',
            "host/h.cpp": '#include <CLI/CLI.hpp>\n#include "apply/m.hpp"\n',
        }
        for name, text in files.items():
            (runtime / name).parent.mkdir(parents=True, exist_ok=True)
            (runtime / name).write_text(text)
        found = violations(runtime)
        expected = ["includes introspect/catalog.hpp", "libpq-fe.h", "includes cli/plugin_set.hpp", "CLI/CLI.hpp"]
        missing = [e for e in expected if not any(e in f for f in found)]
        if missing or len(found) != len(expected):
            print("self-test failed; found:\n  " + "\n  ".join(found))
            return 1
    print("self-test: each kind of violation is reported")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    runtime = pathlib.Path(argv[1] if len(argv) > 1 else pathlib.Path(__file__).parent.parent / "runtime")
    found = violations(runtime)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} include(s) reach above their stage")
        return 1
    print(f"every include in {runtime} stays within its stage or below")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
