"""The simulated world the loop serves: families with hidden traits who live the weeks and answer.

In production the families are real and answer through ``POST /api/ml/feedback/``; here the
family simulator (``brightpath.simulator``) plays them, and it is the only place the loop meets
the hidden truth outside the research view. The loop learns and gates from the store alone;
the world only *writes* to it, through the repository call the feedback endpoint makes
(``Store.add_feedback``).

Who is in the world (every draw seeded from ``(seed, stream, round)``, so a resumed run meets
the same families and hears the same answers):

* the **logged** families: the dataset's train and validation families, whose logged weeks the
  bootstrap imports (the test families stay held out for the research view);
* **new** families arriving in round r (``new_families``), drawn from the simulator's population,
  shifted from ``world.shift_round`` on when ``world.shift`` says so;
* **returning** families of round r: drawn without replacement from everyone served before;
* the **A/B cohort** of round r: fresh families (as new ones), randomised to the two arms by the loop.

Family keys (``served_schedules.family_key``) are ``<namespace>:<kind><id>``: ``d<family_id>`` for
logged families, ``n<round>-<i>`` for new ones, ``a<round>-<i>`` for the A/B cohort.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from brightpath.datasets import SPLITS, load_families
from brightpath.schedule import summarize_params
from brightpath.simulator import Families, generate_feedback, sample_families
from experiments.loop.config import WorldConfig

STREAMS = {"new": 1, "returning": 2, "ab": 3, "feedback": 4, "arms": 5}
"""Second entry of every seed sequence ``[seed, stream, round, ...]`` the world draws from."""
OLDER_CHILDREN_MIN_AGE = 12
STRICT_TIME_MIN_PREFERENCE = 0.7
TIME_MANAGEMENT = 2
"""Column of time management in ``Families.preferences`` (``questionnaire.CATEGORY_NAMES`` order)."""


def _concat(parts: list[Families]) -> Families:
    return Families(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(Families)}
    )


class World:
    """The families of one loop run (module docstring).

    Args:
        config: the world's shift.
        seed: the run's seed.
        namespace: prefix of every family key (the run name), so two runs can share a store.
        data_root, data_version: the dataset whose train and validation families are the logged ones.
        new_families, returning_families, ab_families: cohort sizes per round.
    """

    def __init__(
        self,
        config: WorldConfig,
        *,
        seed: int,
        namespace: str,
        data_root,
        data_version: str,
        new_families: int,
        returning_families: int,
        ab_families: int,
    ) -> None:
        self.config = config
        self.seed = int(seed)
        self.namespace = namespace
        families = load_families(data_root, data_version)
        split = {f: load_families(data_root, data_version, f).family_id for f in SPLITS}
        logged_ids = np.concatenate([split["train"], split["val"]])
        self.logged = families.take(np.flatnonzero(np.isin(families.family_id, logged_ids)))
        self._first_id = int(families.family_id.max()) + 1
        self.new_per_round = int(new_families)
        self.returning_per_round = int(returning_families)
        self.ab_per_round = int(ab_families)
        self._cohorts: dict[tuple[str, int], tuple[list[str], Families]] = {}

    def key(self, kind: str, ident: object) -> str:
        return f"{self.namespace}:{kind}{ident}"

    @functools.cached_property
    def logged_keys(self) -> list[str]:
        return [self.key("d", int(i)) for i in self.logged.family_id]

    def _draw(self, n: int, stream: str, round_: int) -> Families:
        """``n`` families of the population as it is in ``round_`` (shifted or not)."""
        rng = np.random.default_rng([self.seed, STREAMS[stream], round_])
        first_id = self._first_id + 10_000_000 * STREAMS[stream] + 100_000 * round_
        shifted = self.config.shift != "none" and round_ >= self.config.shift_round
        if not shifted:
            return sample_families(n, rng, first_id=first_id)
        parts, found = [], 0
        while found < n:
            batch = sample_families(4 * n + 16, rng, first_id=first_id)
            if self.config.shift == "older_children":
                keep = batch.age >= OLDER_CHILDREN_MIN_AGE
            else:
                keep = batch.preferences[:, TIME_MANAGEMENT] > STRICT_TIME_MIN_PREFERENCE
            parts.append(batch.take(np.flatnonzero(keep)))
            found += int(keep.sum())
        return _concat(parts).take(np.arange(n))

    def new(self, round_: int) -> tuple[list[str], Families]:
        """The families arriving in round ``round_`` (≥ 1): keys and families."""
        return self._cohort("n", self.new_per_round, "new", round_)

    def ab_cohort(self, round_: int) -> tuple[list[str], Families]:
        """The fresh A/B cohort of round ``round_``: keys and families."""
        return self._cohort("a", self.ab_per_round, "ab", round_)

    def _cohort(self, kind: str, n: int, stream: str, round_: int) -> tuple[list[str], Families]:
        if (kind, round_) not in self._cohorts:
            families = self._draw(n, stream, round_)
            self._cohorts[kind, round_] = ([self.key(kind, f"{round_}-{i}") for i in range(n)], families)
        return self._cohorts[kind, round_]

    def returning(self, round_: int) -> list[str]:
        """Keys of the families who come back in round ``round_``: drawn from everyone served before it."""
        pool = list(self.logged_keys)
        for earlier in range(1, round_):
            pool += self.new(earlier)[0]
        rng = np.random.default_rng([self.seed, STREAMS["returning"], round_])
        chosen = rng.choice(len(pool), size=min(self.returning_per_round, len(pool)), replace=False)
        return [pool[i] for i in sorted(chosen)]

    def families(self, keys: list[str]) -> Families:
        """The families (hidden traits included) behind ``keys`` of this world, in order.

        Raises:
            KeyError: a key that is not of this world.
        """
        logged_row = {key: i for i, key in enumerate(self.logged_keys)}
        rows = []
        for key in keys:
            ident = key.removeprefix(f"{self.namespace}:")
            if key in logged_row:
                rows.append(self.logged.take(np.array([logged_row[key]])))
            elif ident[:1] in ("n", "a") and ident != key:
                round_, _, i = ident[1:].partition("-")
                cohort = self.new(int(round_)) if ident[0] == "n" else self.ab_cohort(int(round_))
                rows.append(cohort[1].take(np.array([int(i)])))
            else:
                raise KeyError(f"family key {key!r} is not of this world ({self.namespace})")
        return _concat(rows) if rows else self.logged.take(np.arange(0))

    def respond(self, families: Families, params: np.ndarray, round_: int, cohort: str) -> dict[str, np.ndarray]:
        """The feedback (``brightpath.feedback.FEEDBACK_COLUMNS``) of ``families`` on the weeks ``params``
        laid out, drawn from ``[seed, feedback stream, round, cohort]`` (same families, weeks and round:
        same answers)."""
        summaries = summarize_params(np.asarray(params, dtype=np.float64), families.grade_band)
        rng = np.random.default_rng([self.seed, STREAMS["feedback"], round_, sum(map(ord, cohort))])
        return generate_feedback(families, summaries, rng)


__all__ = ["STREAMS", "World"]
