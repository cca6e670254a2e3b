import numpy as np
import pytest

from fetalseg.data.augment import AugmentConfig
from fetalseg.data.dataset import iterate_batches, load_cached
from fetalseg.data.synthetic import synthetic_set
from fetalseg.errors import InputError


@pytest.fixture(scope="module")
def small_set():
    return synthetic_set(5, (64, 48), seed=2)


def test_cache_file_round_trips_exactly(tmp_path, small_set):
    path = tmp_path / "part.npz"
    small_set.save(path)
    back = load_cached(path)
    for key in ("images", "masks", "coverage", "pixel_size_mm", "hc_mm"):
        np.testing.assert_array_equal(getattr(back, key), getattr(small_set, key))
    assert back.names == small_set.names
    assert back.geometry == small_set.geometry


@pytest.mark.parametrize("content", [b"not a zip", None])
def test_a_file_that_is_not_a_cache_is_named(tmp_path, content):
    path = tmp_path / "other.npz"
    if content is None:
        np.savez(path, something=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(InputError, match=r"other\.npz"):
        load_cached(path)


def test_soft_targets_are_the_coverage(small_set):
    ((_, hard),) = iterate_batches(small_set, 5)
    ((_, soft),) = iterate_batches(small_set, 5, soft=True)
    np.testing.assert_allclose(soft[:, 0].numpy(), small_set.coverage / 255, atol=1e-6)
    assert set(np.unique(hard.numpy())) <= {0.0, 1.0}
    rng = np.random.default_rng(0)
    ((_, aug),) = iterate_batches(small_set, 5, augment=AugmentConfig(), rng=rng, soft=True)
    assert aug.min() >= 0 and aug.max() <= 1


def test_sets_join_in_order_and_refuse_another_size(small_set):
    other = synthetic_set(3, small_set.images.shape[:0:-1], seed=7)
    both = small_set + other
    assert len(both) == len(small_set) + 3
    assert both.names == small_set.names + other.names
    for key in ("images", "masks", "coverage", "pixel_size_mm", "hc_mm"):
        assert np.array_equal(getattr(both, key)[-3:], getattr(other, key), equal_nan=True), key
    assert both.geometry[-3:] == other.geometry
    with pytest.raises(ValueError, match="cannot join"):
        small_set + synthetic_set(2, (32, 32), seed=1)
