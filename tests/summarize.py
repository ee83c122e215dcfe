#!/usr/bin/env python3
"""Reads meson's test log and prints one line for the whole run: 'N passed, N failed'.

Counts doctest test cases from each test program's own summary line. A test program that ended
without one (a crash, a timeout) counts as one failed test, so a crash can never pass unseen."""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")


def main(log_path: str) -> int:
    passed = failed = 0
    with open(log_path, encoding="utf-8") as log:
        for line in log:
            record = json.loads(line)
            match = None
            for match in SUMMARY.finditer(record.get("stdout", "") or ""):
                pass
            if match and record.get("result") in ("OK", "FAIL", "EXPECTEDFAIL", "UNEXPECTEDPASS"):
                passed += int(match.group(2))
                failed += int(match.group(3))
                if record.get("result") == "FAIL" and int(match.group(3)) == 0:
                    failed += 1  # the program failed after its tests passed (exit code, leak, crash at exit)
            elif record.get("result") == "OK":
                passed += 1
            else:
                print(f"{record.get('name')}: {record.get('result')} without a test summary", file=sys.stderr)
                failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json"))
