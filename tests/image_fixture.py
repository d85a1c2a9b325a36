"""Image runs on a slice of the bundled Fashion-MNIST subset, for the CLI tests (seconds, not minutes)."""
import contextlib
import dataclasses

import pytest

from lucidnet.vision import data as datasets


@contextlib.contextmanager
def sliced_images(train: int, test: int):
    """``lucidnet.vision.data.load`` cut to the first ``train`` training and ``test`` test images, inside the block."""
    real = datasets.load

    def load(name, root=None, download=False, splits=("train", "test")):
        d = real(name, root, download, splits)
        return dataclasses.replace(d, x_train=d.x_train[:train], y_train=d.y_train[:train], x_test=d.x_test[:test],
                                   y_test=d.y_test[:test])

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets, "load", load)
        yield


def image_run_fixtures(train: int, test: int, epochs: int):
    """Module-scoped fixtures ``(small_data, cnn_run)``: the slice, and a cnn run trained on it for ``epochs``."""
    @pytest.fixture(scope="module")
    def small_data():
        with sliced_images(train, test):
            yield

    @pytest.fixture(scope="module")
    def cnn_run(small_data, tmp_path_factory):
        from lucidnet.cli import main
        out = tmp_path_factory.mktemp("cnn")
        assert main(["train", "--model", "cnn", "--epochs", str(epochs), "--out", str(out), "--quiet"]) == 0
        return out

    return small_data, cnn_run
