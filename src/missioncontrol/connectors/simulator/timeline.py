"""The time axis of one simulated incident: start, sample grid and onset, plus seeded random streams."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

# Incidents start at some hour of some day in the four weeks from here; the seed picks which, so that
# the daily load curve sits at a different phase in every case.
EPOCH = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Sample grid of an incident. A sample stamped `t` covers the window [t, t + step_s).

    Windows are stamped at their start, as CloudWatch and most dashboards do, so the sample stamped
    at the onset minute is the first to show the fault.
    """

    start_s: int  # Unix seconds
    duration_s: int
    step_s: int
    onset_offset_s: int

    @classmethod
    def for_seed(cls, seed: int, *, duration_s: int, step_s: int, onset_offset_s: int) -> "Timeline":
        """Return the timeline of the incident with `seed`, after checking the grid is sound."""
        if step_s < 1 or duration_s % step_s:
            raise ValueError(f"duration_s={duration_s} must be a positive multiple of step_s={step_s}")
        if not 0 < onset_offset_s <= duration_s - 180:
            raise ValueError(
                f"onset_offset_s={onset_offset_s} must leave at least 180 s before the end "
                f"(duration_s={duration_s}) for the fault to show and the alert to fire"
            )
        rng = streams(seed, "clock")
        start = EPOCH + timedelta(days=rng.randrange(28), hours=rng.randrange(24))
        return cls(int(start.timestamp()), duration_s, step_s, onset_offset_s)

    @property
    def n_samples(self) -> int:
        return self.duration_s // self.step_s

    @property
    def start_at(self) -> datetime:
        return datetime.fromtimestamp(self.start_s, UTC)

    @property
    def end_s(self) -> int:
        return self.start_s + self.duration_s

    @property
    def onset_s(self) -> int:
        return self.start_s + self.onset_offset_s

    @property
    def onset_at(self) -> datetime:
        return datetime.fromtimestamp(self.onset_s, UTC)

    @property
    def onset_index(self) -> int:
        """Return the index of the sample whose window holds the onset."""
        return self.onset_offset_s // self.step_s

    def timestamps(self) -> tuple[float, ...]:
        """Return every sample's stamp in Unix seconds."""
        return tuple(float(self.start_s + i * self.step_s) for i in range(self.n_samples))

    def since_onset(self) -> Floats:
        """Return, for each second of the incident, seconds since onset (negative before it)."""
        return np.arange(self.duration_s, dtype=np.float64) + 0.5 - self.onset_offset_s

    def window_means(self, per_second: Floats) -> Floats:
        """Return the mean of a per-second series over each sample window."""
        means: Floats = per_second.reshape(self.n_samples, self.step_s).mean(axis=1)
        return means

    def shifted_window_means(self, per_second: Floats, delays_s: npt.NDArray[np.int64]) -> Floats:
        """Return window means of `per_second` delayed by each of `delays_s`: one row per delay."""
        cumulative = np.concatenate(([0.0], np.cumsum(per_second)))
        starts = np.arange(self.n_samples) * self.step_s
        lo = np.clip(starts[None, :] - delays_s[:, None], 0, self.duration_s)
        hi = np.clip(starts[None, :] + self.step_s - delays_s[:, None], 0, self.duration_s)
        result: Floats = (cumulative[hi] - cumulative[lo]) / self.step_s
        return result


def streams(seed: int, stream: str) -> random.Random:
    """Return an independent, reproducible Python RNG for one concern of one incident."""
    # A string seed is hashed with SHA-512 by `random`, so this does not depend on PYTHONHASHSEED.
    return random.Random(f"missioncontrol-sim/{seed}/{stream}")


def np_stream(seed: int, stream: str) -> np.random.Generator:
    """Return an independent, reproducible numpy RNG for one concern of one incident."""
    return np.random.default_rng([seed % (1 << 64), *(ord(c) for c in stream)])
