"""The TensorBoard callback writes event files with scalars and histograms (read back here record by record)."""
import struct
import sys

import numpy as np
import pytest

import lucidnet as ln
from lucidnet import nn
from lucidnet.inspect import Monitor, TensorBoard

pytest.importorskip("tensorboardX")
from tensorboardX.proto import event_pb2  # noqa: E402


def read_events(log_dir):
    """Every Event in the directory's event files (TFRecord framing: length, crc, payload, crc)."""
    events = []
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        raw = path.read_bytes()
        i = 0
        while i < len(raw):
            (n,) = struct.unpack("<Q", raw[i:i + 8])
            events.append(event_pb2.Event.FromString(raw[i + 12:i + 12 + n]))
            i += 12 + n + 4
    return events


def scalars(events):
    out = {}
    for e in events:
        for v in e.summary.value:
            if v.HasField("simple_value"):
                out.setdefault(v.tag, []).append((e.step, v.simple_value))
    return out


def histograms(events):
    return {(v.tag, e.step): v.histo for e in events for v in e.summary.value if v.HasField("histo")}


def test_scalars_histograms_and_monitor_statistics(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    monitor = Monitor(every=4)
    tb = TensorBoard(tmp_path / "tb", update_freq=3, monitor=monitor)
    h = ln.fit(model, (x, y), loss="cross_entropy", lr=0.01, epochs=2, batch_size=16, val_data=(x[:32], y[:32]),
               callbacks=[monitor, tb], verbose=0)
    ev = read_events(tmp_path / "tb")
    sc = scalars(ev)
    for key, tag in (("loss", "loss/train"), ("val_loss", "loss/val"), ("accuracy", "accuracy/train"),
                     ("val_accuracy", "accuracy/val"), ("lr", "lr")):
        assert [s for s, _ in sc[tag]] == [0, 1], tag
        np.testing.assert_allclose([v for _, v in sc[tag]], h.history[key], rtol=1e-6, err_msg=tag)
    assert [s for s, _ in sc["loss/batch"]] == [3, 6, 9, 12]
    np.testing.assert_allclose([v for _, v in sc["loss/batch"]], [monitor.log.loss[s - 1] for s in (3, 6, 9, 12)],
                               rtol=1e-6)
    # the monitor's layer statistics, per monitored step
    assert [s for s, _ in sc["layers/dead/1"]] == monitor.log.steps == [0, 4, 8]
    np.testing.assert_allclose([v for _, v in sc["layers/grad_norm/0"]], monitor.log.layers["0"]["grad_norm"],
                               rtol=1e-6)
    hist = histograms(ev)
    for name, p in model.named_parameters():
        w = hist[(f"weights/{name}", 1)]
        assert w.num == p.array.size and w.min == pytest.approx(p.array.min()) and w.max == pytest.approx(p.array.max())
        assert hist[(f"grads/{name}", 1)].num == p.array.size
    assert (("weights/0.weight", 0) in hist) and tb.writer is None  # closed at the end


def test_histogram_freq_and_epoch_only_scalars(tmp_path):
    x = np.zeros((8, 2), np.float32)
    y = np.zeros(8, np.int64)
    ln.fit(nn.Linear(2, 2), (x, y), loss="cross_entropy", epochs=3, batch_size=4,
           callbacks=[TensorBoard(tmp_path, histogram_freq=2)], verbose=0)
    ev = read_events(tmp_path)
    assert "loss/batch" not in scalars(ev)
    assert sorted({step for (_, step) in histograms(ev)}) == [1]


def test_clear_errors(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(tmp_path, update_freq=0)
    with pytest.raises(TypeError, match="Monitor"):
        TensorBoard(tmp_path, monitor=object())
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"lucidnet\[tensorboard\]"):
        TensorBoard(tmp_path)
