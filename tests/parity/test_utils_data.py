"""gradkit.utils.data against torch.utils.data: datasets, batches (values, dtypes, order, lengths),
default_collate, random_split, samplers, and num_workers giving the same batches as in-process."""
from __future__ import annotations

import os

import numpy
import pytest
import torch
import torch.utils.data as tud

import gradkit as gk
import gradkit.utils.data as gud

R = numpy.random.default_rng(8)
X = R.standard_normal((23, 3)).astype(numpy.float32)
Y = R.integers(0, 4, 23)


def _datasets():
    return gud.TensorDataset(gk.Tensor(X), gk.Tensor(Y)), tud.TensorDataset(torch.tensor(X), torch.tensor(Y))


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (5, False), (5, True), (23, False), (50, False)])
def test_sequential_batches_equal_torch(batch_size, drop_last):
    ours, theirs = _datasets()
    a = list(gud.DataLoader(ours, batch_size=batch_size, drop_last=drop_last))
    b = list(tud.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last))
    assert len(a) == len(b) == len(gud.DataLoader(ours, batch_size=batch_size, drop_last=drop_last))
    for (x, y), (xt, yt) in zip(a, b):
        assert str(x.dtype) == "float32" and str(y.dtype) == "int64" == str(yt.dtype).replace("torch.", "")
        numpy.testing.assert_array_equal(x.numpy(), xt.numpy())
        numpy.testing.assert_array_equal(y.numpy(), yt.numpy())


def test_dataset_indexing_and_length_as_torch():
    ours, theirs = _datasets()
    assert len(ours) == len(theirs)
    x, y = ours[4]
    xt, yt = theirs[4]
    numpy.testing.assert_array_equal(x.numpy(), xt.numpy())
    assert int(y.item()) == int(yt) and y.shape == tuple(yt.shape) == ()
    with pytest.raises(ValueError):
        gud.TensorDataset(gk.zeros(3, 2), gk.zeros(4))
    with pytest.raises(AssertionError):
        tud.TensorDataset(torch.zeros(3, 2), torch.zeros(4))     # torch asserts; gradkit names the shapes


class Squares(gud.Dataset):
    """A map-style dataset written the torch way: samples of mixed Python types."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"x": numpy.full(2, i, numpy.float32), "y": i * i, "w": 0.5 * i, "name": f"s{i}"}


class TorchSquares(tud.Dataset):
    __len__ = Squares.__len__
    __getitem__ = Squares.__getitem__


def test_default_collate_of_mixed_samples_matches_torch():
    batch = next(iter(gud.DataLoader(Squares(), batch_size=4)))
    tbatch = next(iter(tud.DataLoader(TorchSquares(), batch_size=4)))
    assert list(batch) == list(tbatch) and batch["name"] == tbatch["name"]
    for key in ("x", "y", "w"):
        assert str(batch[key].dtype) == str(tbatch[key].dtype).replace("torch.", ""), key
        numpy.testing.assert_array_equal(batch[key].numpy(), tbatch[key].numpy())
    pairs = [(1.5, 2), (2.5, 3)]
    ours, theirs = gud.default_collate(pairs), tud.default_collate(pairs)
    assert [str(t.dtype) for t in ours] == [str(t.dtype).replace("torch.", "") for t in theirs]


def test_collate_fn_concat_dataset_and_samplers():
    seen = []
    loader = gud.DataLoader(Squares() + Squares(), batch_size=6, collate_fn=lambda s: seen.append(len(s)) or len(s))
    assert list(loader) == [6, 6, 6, 2] and len(loader) == 4
    assert len(gud.ConcatDataset([Squares(), Squares()])) == len(tud.ConcatDataset([TorchSquares()] * 2)) == 20
    ours, _ = _datasets()
    order = [y.item() for _, y in gud.DataLoader(ours, sampler=gud.SequentialSampler(ours), batch_size=1)]
    assert order == Y.tolist()
    picked = [int(i) for i in gud.SubsetRandomSampler([3, 5, 7], generator=0)]
    assert sorted(picked) == [3, 5, 7]
    drawn = list(gud.RandomSampler(ours, generator=1))
    assert sorted(drawn) == list(range(23)) and drawn != list(range(23))
    with pytest.raises(ValueError, match="mutually exclusive"):
        gud.DataLoader(ours, sampler=gud.SequentialSampler(ours), shuffle=True)


@pytest.mark.parametrize("lengths", [[10, 13], [0.5, 0.5], [0.3, 0.3, 0.4], [0.1, 0.9]])
def test_random_split_sizes_equal_torch(lengths):
    ours, theirs = _datasets()
    a = gud.random_split(ours, lengths, generator=numpy.random.default_rng(0))
    b = tud.random_split(theirs, lengths, generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in a] == [len(p) for p in b]
    indices = numpy.concatenate([p.indices for p in a])
    assert sorted(indices.tolist()) == list(range(23))                  # a partition


def test_shuffle_is_reproducible_from_the_generator_and_differs_per_epoch():
    ours, _ = _datasets()
    first = gud.DataLoader(ours, batch_size=5, shuffle=True, generator=numpy.random.default_rng(4))
    again = gud.DataLoader(ours, batch_size=5, shuffle=True, generator=numpy.random.default_rng(4))
    epoch1, epoch2 = [[y.numpy() for _, y in first] for _ in range(2)]
    numpy.testing.assert_array_equal(numpy.concatenate(epoch1), numpy.concatenate([y.numpy() for _, y in again]))
    assert not numpy.array_equal(numpy.concatenate(epoch1), numpy.concatenate(epoch2))
    assert sorted(numpy.concatenate(epoch1).tolist()) == sorted(Y.tolist())


def _record_worker(worker_id):
    os.environ["GRADKIT_TEST_WORKER"] = str(worker_id)


@pytest.mark.parametrize("persistent", [False, True])
def test_workers_give_the_same_batches_as_in_process(persistent):
    """num_workers > 0 builds batches in child processes: the same batches, in the same order."""
    ours, _ = _datasets()
    kwargs = dict(batch_size=4, shuffle=True, drop_last=False)
    plain = gud.DataLoader(ours, generator=numpy.random.default_rng(11), **kwargs)
    workers = gud.DataLoader(ours, generator=numpy.random.default_rng(11), num_workers=2, pin_memory=True,
                             persistent_workers=persistent, worker_init_fn=_record_worker, prefetch_factor=2,
                             **kwargs)
    for _ in range(2):                                                    # two epochs
        for (x, y), (xw, yw) in zip(plain, workers, strict=True):
            numpy.testing.assert_array_equal(x.numpy(), xw.numpy())
            numpy.testing.assert_array_equal(y.numpy(), yw.numpy())
    assert (workers._pool is not None) == persistent
    pids = {os.getpid()}
    mapped = gud.DataLoader(PidDataset(), batch_size=2, num_workers=2)
    pids_seen = {int(p) for batch in mapped for p in batch.numpy()}
    assert pids_seen and not pids_seen & pids                             # really other processes


class PidDataset(gud.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return os.getpid()


def test_worker_errors_name_the_batch():
    class Broken(gud.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            if i == 4:
                raise KeyError("sample 4 is missing")
            return i
    with pytest.raises(KeyError, match="sample 4 is missing.*batch 2"):
        list(gud.DataLoader(Broken(), batch_size=2, num_workers=2))


@pytest.mark.parametrize("kwargs,error", [({"batch_size": 0}, ValueError), ({"num_workers": -1}, ValueError),
                                          ({"persistent_workers": True}, ValueError),
                                          ({"prefetch_factor": 2}, ValueError)])
def test_bad_loader_arguments_fail_in_both(kwargs, error):
    ours, theirs = _datasets()
    with pytest.raises(error):
        gud.DataLoader(ours, **kwargs)
    with pytest.raises(error):
        tud.DataLoader(theirs, **kwargs)
