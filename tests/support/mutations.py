"""Random damage to real files, for property-based tests of readers and rewriters."""

from __future__ import annotations

from hypothesis import strategies as st


def damaged_copies(bases: list[bytes], max_patches: int = 12):
    """A strategy: one of ``bases`` with up to ``max_patches`` runs of 1-8 random bytes written
    over it, and, half the time, cut off after its 31-byte header."""

    @st.composite
    def damaged(draw):
        data = bytearray(bases[draw(st.sampled_from(range(len(bases))))])
        for _ in range(draw(st.integers(1, max_patches))):
            offset = draw(st.integers(0, len(data) - 1))
            patch = draw(st.binary(min_size=1, max_size=8))
            data[offset: offset + len(patch)] = patch
        if draw(st.booleans()):
            del data[draw(st.integers(31, len(data))):]
        return bytes(data)

    return damaged()
