"""Deterministic nuScenes-style tokens."""
import hashlib
from collections import defaultdict


class TokenFactory:
    """Hands out 32-hex-digit tokens that depend only on the seed and the call order.

    Args:
        seed (int): dataset seed; different seeds give disjoint tokens.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self._counters = defaultdict(int)

    def __call__(self, kind: str) -> str:
        """Return the next token for a record kind, e.g. ``'sample'``."""
        index = self._counters[kind]
        self._counters[kind] += 1
        return hashlib.md5(f'{self.seed}/{kind}/{index}'.encode()).hexdigest()
