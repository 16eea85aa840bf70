"""ArrayDataset, DataLoader (batch sizes, drop_last, shuffling, bit-exact resume) and random_split."""
from __future__ import annotations

import json

import numpy
import pytest

import gradkit as gk
from gradkit.data import ArrayDataset, DataLoader, Subset, random_split, transforms as T


def _data(n=23):
    x = numpy.arange(n * 3, dtype=numpy.float32).reshape(n, 3)
    return ArrayDataset(x, numpy.arange(n, dtype=numpy.int64))


def _labels(loader):
    return [y.numpy().tolist() for _, y in loader]


@pytest.mark.parametrize("batch_size", [1, 7, 23, 50])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sizes_and_drop_last(batch_size, drop_last):
    data = _data(23)
    loader = DataLoader(data, batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    expected = 23 // batch_size if drop_last else -(-23 // batch_size)
    assert len(loader) == len(batches) == expected
    for x, y in batches:
        assert isinstance(x, gk.Tensor) and x.dtype == numpy.float32 and y.dtype == numpy.int64
        assert x.shape == (len(y.data), 3) and not x.requires_grad
    if batches:
        seen = numpy.concatenate([y.numpy() for _, y in batches])
        assert seen.tolist() == list(range(len(seen)))  # no shuffle: in order
        assert all(len(y.data) == batch_size for _, y in batches[:-1])
        if drop_last:
            assert len(seen) == expected * batch_size
        else:
            assert len(seen) == 23
            numpy.testing.assert_array_equal(numpy.concatenate([x.numpy() for x, _ in batches]), data.arrays[0])


def test_bad_batch_size_and_mismatched_arrays():
    with pytest.raises(ValueError, match="DataLoader: batch_size must be an int >= 1, got 0"):
        DataLoader(_data(), batch_size=0)
    with pytest.raises(ValueError, match="same first dimension"):
        ArrayDataset(numpy.zeros((3, 2)), numpy.zeros(4))


def test_shuffling_is_deterministic_and_changes_every_epoch():
    a = DataLoader(_data(), batch_size=5, shuffle=True, rng=numpy.random.default_rng(7))
    b = DataLoader(_data(), batch_size=5, shuffle=True, rng=7)
    epochs_a = [sum(_labels(a), []) for _ in range(3)]
    epochs_b = [sum(_labels(b), []) for _ in range(3)]
    assert epochs_a == epochs_b
    assert all(sorted(e) == list(range(23)) for e in epochs_a)  # each epoch is a permutation
    assert epochs_a[0] != epochs_a[1] != epochs_a[2] and epochs_a[0] != list(range(23))
    c = DataLoader(_data(), batch_size=5, shuffle=True, rng=8)
    assert sum(_labels(c), []) != epochs_a[0]


def test_one_gather_per_batch():
    data = _data(100)
    calls = []
    gather = data.gather
    data.gather = lambda indices, rng=None: calls.append(len(indices)) or gather(indices, rng)
    list(DataLoader(data, batch_size=30, shuffle=True, rng=0))
    assert calls == [30, 30, 30, 10]


def test_resume_mid_epoch_is_bit_exact_with_augmentation():
    train, _ = gk.data.load("mnist-10k")
    train = train.subset(numpy.arange(300))
    augment = T.Compose([T.RandomShift(2), T.RandomHorizontalFlip(0.5)])

    def loader():
        return DataLoader(train, batch_size=32, shuffle=True, rng=numpy.random.default_rng(3), transform=augment)

    straight = loader()
    reference = [[(x.numpy(), y.numpy()) for x, y in straight] for _ in range(3)]
    first = loader()
    list(first)  # epoch 0
    it = iter(first)
    for _ in range(4):
        next(it)  # 4 batches of epoch 1, then "killed"
    state = json.loads(json.dumps(first.state_dict()))  # JSON-able
    assert state["epoch"] == 1 and state["batch"] == 4
    resumed = loader()
    resumed.load_state_dict(state)
    rest = [(x.numpy(), y.numpy()) for x, y in resumed]
    rest_next = [(x.numpy(), y.numpy()) for x, y in resumed]
    for got, want in zip(rest + rest_next, reference[1][4:] + reference[2]):
        numpy.testing.assert_array_equal(got[0], want[0])
        numpy.testing.assert_array_equal(got[1], want[1])
    assert len(rest) == len(reference[1]) - 4 and resumed.epoch == 3


def test_resume_at_an_epoch_boundary_and_abandoned_passes():
    a = DataLoader(_data(), batch_size=4, shuffle=True, rng=11)
    straight = [_labels(a) for _ in range(3)]
    b = DataLoader(_data(), batch_size=4, shuffle=True, rng=11)
    _labels(b)
    c = DataLoader(_data(), batch_size=4, shuffle=True, rng=99)
    c.load_state_dict(b.state_dict())
    assert [_labels(c), _labels(c)] == straight[1:]
    d = DataLoader(_data(), batch_size=4, shuffle=True, rng=11)
    for _ in d:
        break  # an abandoned pass counts as epoch 0; the next pass is epoch 1
    assert _labels(d) == straight[1]


def test_load_state_dict_refuses_another_loader():
    state = DataLoader(_data(), batch_size=4).state_dict()
    with pytest.raises(ValueError, match="batch_size=4, this one has batch_size=5"):
        DataLoader(_data(), batch_size=5).load_state_dict(state)
    with pytest.raises(ValueError, match="missing keys"):
        DataLoader(_data(), batch_size=4).load_state_dict({"epoch": 0})


def test_image_batches_are_pytorch_shaped():
    train, _ = gk.data.load("mnist-10k")
    x, y = next(iter(DataLoader(train, batch_size=64, transform=T.Flatten())))
    assert x.shape == (64, 784) and x.dtype == numpy.float32 and y.dtype == numpy.int64
    x, y = next(iter(DataLoader(train, batch_size=8000)))
    assert x.shape == (8000, 1, 28, 28) and 0.0 <= float(x.data.min()) and float(x.data.max()) == 1.0


def test_random_split_is_deterministic_disjoint_and_complete():
    data = _data(23)
    parts = random_split(data, [0.7, 0.2, 0.1], rng=5)
    assert [len(p) for p in parts] == [17, 4, 2]  # floors 16, 4, 2 -> remainder 1 to the first (as torch)
    again = random_split(data, [17, 4, 2], rng=numpy.random.default_rng(5))
    labels = [p.arrays[1].tolist() for p in parts]
    assert labels == [p.arrays[1].tolist() for p in again]
    assert sorted(sum(labels, [])) == list(range(23)) and labels[0] != sorted(labels[0])
    for bad in ([10, 10], [0.5, 0.6], [-1, 24]):
        with pytest.raises(ValueError, match="random_split"):
            random_split(data, bad, rng=0)


def test_generic_datasets_take_the_slow_path():
    class Squares:
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return numpy.float32(i * i), i

    train, val = random_split(Squares(), [8, 2], rng=0)
    assert isinstance(train, Subset) and len(train) == 8
    xs = numpy.concatenate([x.numpy() for x, _ in DataLoader(train, batch_size=3)])
    ys = numpy.concatenate([y.numpy() for _, y in DataLoader(train, batch_size=3)])
    numpy.testing.assert_array_equal(xs, (ys * ys).astype(numpy.float32))
    assert sorted(ys.tolist() + [int(val[i][1]) for i in range(2)]) == list(range(10))
