"""Run the available benchmarks: `python -m bench [name ...]`."""

import importlib
import pkgutil
import sys

import bench


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== bench.{name}", flush=True)  # noqa: T201
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
