"""Demo data for `make run`, loaded by `manage.py load_demo`: part of the composition root,
so it may use every app and the simulator. Each module has `load(stdout) -> None`; they run in
the order of LOADERS, so accounts exist before the scenario entries that use them."""

from contactcenter.demo import accounts, desk, scenarios
from simulator import demo as simulator

LOADERS = [simulator, accounts, scenarios, desk]


def load(stdout) -> None:
    for module in LOADERS:
        module.load(stdout)
