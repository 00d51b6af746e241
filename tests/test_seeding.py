"""core.seeding.seeded: same numbers for the same seed, and the caller's RNG and threads untouched."""

from __future__ import annotations

import pytest
import torch

from mesakit.core.seeding import seeded


def test_same_seed_same_numbers_and_different_seed_different_numbers():
    with seeded(3):
        a = torch.randn(5)
    with seeded(3):
        b = torch.randn(5)
    with seeded(4):
        c = torch.randn(5)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_callers_generator_state_is_restored_even_after_an_error():
    torch.manual_seed(123)
    expected = torch.randn(3)
    torch.manual_seed(123)
    with pytest.raises(RuntimeError):
        with seeded(0):
            torch.randn(100)
            raise RuntimeError("inside")
    assert torch.equal(torch.randn(3), expected)


def test_threads_are_set_inside_and_restored_outside():
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with seeded(0, threads=target):
        assert torch.get_num_threads() == target
    assert torch.get_num_threads() == before
    with seeded(0):
        assert torch.get_num_threads() == before


@pytest.mark.parametrize("seed, threads, error", [(1.5, None, TypeError), (True, None, TypeError), (0, 0, ValueError)])
def test_bad_arguments_say_what_is_wrong(seed, threads, error):
    with pytest.raises(error, match="seed must be an int|threads must be >= 1"):
        with seeded(seed, threads=threads):
            pass
