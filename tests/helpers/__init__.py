"""Helpers shared by several test modules."""

from kedro.io import MemoryDataset


class Kept(MemoryDataset):
    """A memory dataset the runner cannot release once its readers are done,
    so a test can read an intermediate result after the run."""

    def _release(self) -> None:
        pass
