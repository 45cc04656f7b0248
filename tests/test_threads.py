import pytest
import torch

from toolkit.errors import ToolkitError
from toolkit.runtime import configure_threads, search_threads


def test_search_threads_leave_one_core_free_and_cap_at_four():
    assert [search_threads(n) for n in (1, 2, 3, 4, 8, 64)] == [1, 1, 2, 3, 4, 4]


def test_configure_threads_order_of_choice(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert configure_threads() == 2 == torch.get_num_threads()  # the user's setting wins
        assert configure_threads(1) == 1 == torch.get_num_threads()  # an explicit argument wins over it
        monkeypatch.delenv("OMP_NUM_THREADS")
        assert configure_threads() == search_threads() == torch.get_num_threads()
        for bad in (0, -1, 1.5, True):
            with pytest.raises(ToolkitError):
                configure_threads(bad)
    finally:
        torch.set_num_threads(before)
