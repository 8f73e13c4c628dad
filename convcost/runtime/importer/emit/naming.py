"""Layer names the spec loader takes: unique, and none a dotted prefix of another."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


def _above(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@dataclass
class Names:
    """The names given so far: ``base``, then ``base_2``, ``base_3`` ... skipping any name the
    loader would refuse (a first call split into ``convflow1.0``, ``convflow1.1`` leaves no
    ``convflow1`` for a later call: that one is ``convflow1_2``)."""

    counts: Counter[str] = field(default_factory=Counter)
    used: Counter[str] = field(default_factory=Counter)
    prefixes: Counter[str] = field(default_factory=Counter)

    def clashes(self, name: str) -> bool:
        return bool(self.used[name] or self.prefixes[name] or any(self.used[p] for p in _above(name)))

    def fresh(self, base: str) -> str:
        """The next free name of ``base`` (not taken yet: :meth:`take` it when used)."""
        while True:
            self.counts[base] += 1
            name = base if self.counts[base] == 1 else f"{base}_{self.counts[base]}"
            if not self.clashes(name):
                return name

    def take(self, name: str) -> None:
        self.used[name] += 1
        self.prefixes.update(_above(name))

    def release(self, name: str, base: str) -> None:
        """A layer removed (merged into the next): its name, the last of ``base``, is free again."""
        self.used[name] -= 1
        self.prefixes.subtract(_above(name))
        self.counts[base] -= 1
