"""`python -m bench.fault_suite`: the fault-injection suite as a table (the suite lives in testkit/faults.py,
which tests/test_faults.py runs and asserts on)."""

from __future__ import annotations

from testkit.faults import main

if __name__ == "__main__":
    main()
