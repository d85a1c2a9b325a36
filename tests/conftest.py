"""Shared fixtures. In CI (CI=true) a parity or MPI test that is skipped fails the session: PyTorch and MPI must
be there."""
import os

import pytest

import lucidnet as ln

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_skipped_parity = []


@pytest.fixture(autouse=True)
def _seed():
    ln.manual_seed(0)
    yield


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    """Run the test on lucidnet's NumPy kernels and on its numba kernels (skipped where numba is not installed)."""
    from lucidnet import kernels as _kernels
    if request.param == "numba" and not _kernels.numba_available():
        pytest.skip("numba is not installed (pip install numba)")
    previous = _kernels.set_numba(request.param == "numba")
    yield request.param
    _kernels.set_numba(previous)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``long`` (the README's full training runs, minutes to hours each) run only with
    LUCIDNET_LONG=1; CI runs their short versions."""
    if os.environ.get("LUCIDNET_LONG"):
        return
    skip = pytest.mark.skip(reason="a full training run behind a README figure: LUCIDNET_LONG=1 runs it")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report):
    if report.skipped and ("parity" in report.keywords or "mpi" in report.keywords):
        _skipped_parity.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if IN_CI and _skipped_parity:
        print(f"\nCI: {len(_skipped_parity)} PyTorch parity or MPI tests were skipped (are torch==2.13.0 and the "
              f"test extra's mpi4py and mpich installed?): {_skipped_parity[:5]}")
        session.exitstatus = 1
