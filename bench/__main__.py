"""`python -m bench` (make bench): the whole suite; BENCH_QUICK=1 for seconds, not minutes."""

import sys

from bench import suite

if __name__ == "__main__":
    suite.main()
    sys.exit(0)
