"""The loop's rounds, step by step, with the state that lets a killed round resume.

``Loop(config, tracker).run()`` runs round 0 (the bootstrap) and rounds 1 … ``loop.rounds``::

    round 0   import the logged weeks → train the reward model → train PPO → promote both
    round r   serve the champion's weeks to new and returning families → their feedback
              → monitor the store (drift, degradation, segments, health) → retraining trigger
              → refresh the reward model → retrain PPO → A/B gate on a fresh cohort → promote on a pass
              → research view → dashboard

What each step leaves behind is deterministic and idempotent (store rows with ids from the run,
round and family; registry versions and MLflow model versions found again by their round), so
after a crash ``resume=true`` repeats the unfinished step and reaches the store and registry an
uninterrupted run reaches. ``<paths.checkpoint_dir>/<run_name>/loop_state.json`` (written
atomically after every step) records what is done and every result; ``round-<r>/`` keeps the
round's PPO checkpoints, the policy's distribution on the held-out families and the verdict.

MLflow: the task's run is the loop's parent run (per-round summary metrics at step = round, the
dashboard, the report); each round has a child run (the reward model's curves, PPO's iterations,
the models, the verdict).
"""

from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow loads)

# isort: on
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from brightpath import registry
from brightpath.store import Store, report_progress
from experiments import artifacts
from experiments.loop import ab, cohorts, mlflow_registry, policy, research
from experiments.loop import reward as reward_step
from experiments.loop.world import STREAMS, World

log = logging.getLogger(__name__)

STATE_FILE = "loop_state.json"
VERDICT_FILE = "verdict.json"
MODELS = ("generator", "policy", "reward")
"""Registry models a promotion moves together."""
LOOP_METADATA_KEY = "loop"
"""Entry of a version's ``brightpath_model.json`` naming the loop run and round that published it."""


def round_seed(seed: int, round_: int) -> int:
    """The seed of everything a round trains (reward model, networks, environment)."""
    return int(np.random.SeedSequence([int(seed), int(round_)]).generate_state(1)[0])


def database_url(config) -> str:
    """``loop.database_url``, else ``$BRIGHTPATH_DATABASE_URL``, else ``<paths.root>/brightpath.db`` (SQLite)."""
    from brightpath.store import DATABASE_URL_ENV

    if config.loop.database_url:
        return str(config.loop.database_url)
    if os.environ.get(DATABASE_URL_ENV):
        return os.environ[DATABASE_URL_ENV]
    return f"sqlite:///{Path(config.paths.root).resolve() / 'brightpath.db'}"


class LoopStateError(RuntimeError):
    """The store or registry already holds this run, and ``resume`` is false."""


class Loop:
    """One continuous-improvement loop run (module docstring)."""

    def __init__(self, config, tracker) -> None:
        self.config = config
        self.loop = config.loop
        self.tracker = tracker
        self.namespace = config.run_name
        self.state_dir = Path(config.paths.checkpoint_dir) / config.run_name
        self.model_dir = Path(config.paths.model_dir)
        self.store = Store(database_url(config))
        self.data_root = artifacts.dataset(config)
        if not config.resume:
            self._start_fresh()
        self.state = self._load_state()
        self.world = World(
            self.loop.world,
            seed=config.seed,
            namespace=self.namespace,
            data_root=self.data_root,
            data_version=config.data.version,
            new_families=self.loop.new_families,
            returning_families=self.loop.returning_families,
            ab_families=self.loop.ab_families,
        )
        self._held_out = None
        self._client = None
        self._generators: dict[int, Any] = {}
        self._scorers: dict[int, Any] = {}
        if tracker.enabled:
            from experiments.tracking.runs import connect

            self._client, _ = connect(config)

    # --- state -------------------------------------------------------------------------------------

    def _start_fresh(self) -> None:
        served = self.store.served_frame()
        mine = served["cohort"].fillna("").str.startswith(f"{self.namespace}/")
        if mine.any() or self._published(0, "reward") is not None:
            raise LoopStateError(
                f"the store ({self.store.url}) or the model registry ({self.model_dir}) already holds loop run "
                f"{self.namespace!r}; continue it with resume=true, or start another with a new run_name or "
                f"database (loop.database_url)"
            )
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)

    def _load_state(self) -> dict[str, Any]:
        path = self.state_dir / STATE_FILE
        if path.exists():
            state = json.loads(path.read_text())
            log.info(
                "resume: loop state %s (rounds done: %s)",
                path,
                [k for k, r in state["rounds"].items() if r.get("done")] or "none",
            )
            return state
        return {"namespace": self.namespace, "rounds": {}, "champion": None, "oracle_reference": {}}

    def _save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.state_dir, suffix=".json", delete=False) as handle:
            json.dump(self.state, handle, indent=2, sort_keys=True, default=str)
        os.replace(handle.name, self.state_dir / STATE_FILE)

    def _round(self, round_: int) -> dict[str, Any]:
        return self.state["rounds"].setdefault(str(round_), {"steps": {}, "seconds": {}})

    def _round_dir(self, round_: int) -> Path:
        path = self.state_dir / f"round-{round_:02d}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextlib.contextmanager
    def _step(self, round_: int, name: str):
        """Time a step into the round's record and save the state after it."""
        record = self._round(round_)
        started = time.perf_counter()
        yield record
        record["seconds"][name] = record["seconds"].get(name, 0.0) + time.perf_counter() - started
        self._save()

    def _published(self, round_: int, name: str) -> int | None:
        """The registry version of ``name`` this run published in ``round_`` (found again after a crash)."""
        for version in registry.list_versions(self.model_dir, name):
            try:
                meta = registry.read_metadata(registry.version_path(self.model_dir, name, version))
            except Exception:  # noqa: BLE001 (an unreadable version is not ours)
                continue
            if meta.get(LOOP_METADATA_KEY) == {"run": self.namespace, "round": round_}:
                return version
        return None

    def _promote(self, name: str, version: int) -> None:
        if registry.champion_version(self.model_dir, name) != version:
            registry.promote(self.model_dir, name, version)

    # --- MLflow ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _round_run(self, round_: int):
        """The round's child MLflow run (reopened after a crash)."""
        from experiments.tracking import start_run

        record = self._round(round_)
        child = dataclasses.replace(self.config, run_name=f"{self.namespace}/round-{round_:02d}", resume=False)
        if not self.tracker.enabled:
            with start_run(child) as tracker:
                yield tracker
            return
        if record.get("run_id"):
            with start_run(child, run_id=record["run_id"]) as tracker:
                yield tracker
            return
        with start_run(child, parent_run_id=self.tracker.run_id) as tracker:
            tracker.set_tags({"loop_round": round_, "loop_run": self.namespace})
            record["run_id"] = tracker.run_id
            self._save()
            yield tracker

    def _register(self, round_: int, tracker, versions: dict[str, int], alias: str) -> None:
        """Log the round's generator and reward model as MLflow models and register them (once)."""
        if self._client is None:
            return
        record = self._round(round_)
        loop_key = f"{self.namespace}/round-{round_:02d}"
        registered = record.setdefault("mlflow_versions", {})
        uri = str(self.config.logger["tracking_uri"])
        for kind, name in (("generator", self.loop.generator_model), ("reward", self.loop.reward_model)):
            if kind not in registered:
                found = mlflow_registry.find_version(self._client, name, loop_key)
                if found is None:
                    info = mlflow_registry.log_model(
                        uri,
                        tracker.run_id,
                        kind,
                        registry.version_path(self.model_dir, kind, versions[kind]),
                        name=kind,
                    )
                    found = mlflow_registry.register(
                        self._client,
                        name,
                        info,
                        run_id=tracker.run_id,
                        loop_key=loop_key,
                        tags={
                            "round": round_,
                            "registry_version": versions[kind],
                            "loop_run": self.namespace,
                            "data_version": self.config.data.version,
                        },
                    )
                registered[kind] = str(found.version)
                self._save()
            mlflow_registry.set_alias(self._client, name, alias, registered[kind])

    def _log_inputs(self, tracker, feedback, families) -> None:
        if self._client is None:
            return
        mlflow_registry.log_store_input(
            self._client,
            tracker.run_id,
            feedback,
            name="store.feedback",
            store_url=self.store.url,
            table="feedback ⋈ served_schedules",
        )
        mlflow_registry.log_store_input(
            self._client,
            tracker.run_id,
            families,
            name="store.served_families",
            store_url=self.store.url,
            table="served_schedules",
        )

    # --- shared pieces -----------------------------------------------------------------------------

    @property
    def held_out(self):
        """The research view's fixed held-out families and the cached oracle's mean on them."""
        if self._held_out is None:
            spec = self.config.eval
            families, _ = artifacts.held_out_families(
                self.config, spec.n_families, split=spec.split, seed=spec.family_seed
            )
            oracle = artifacts.oracle_generator(self.config, families, seed=spec.family_seed, oracle_config=spec.oracle)
            self._held_out = (
                families,
                float(artifacts.evaluate(oracle, families, min_coverage=spec.min_coverage).true_satisfaction.mean()),
            )
        return self._held_out

    def _training_families(self):
        """The served families (each once) the policy trains on: questionnaires from the store."""
        served = self.store.served_frame()
        keys = served.drop_duplicates("family_key")["family_key"].tolist()
        return self.world.families(keys), served

    def _generator(self, version: int):
        """The published generator ``version``, loaded once (a published version never changes)."""
        from brightpath.inference import ScheduleGeneratorModel

        if version not in self._generators:
            self._generators[version] = ScheduleGeneratorModel(
                registry.version_path(self.model_dir, "generator", version)
            )
        return self._generators[version]

    def _scorer(self, version: int):
        """The published reward model ``version``, loaded once (a published version never changes)."""
        from brightpath.reward.scoring import RewardScorer

        if version not in self._scorers:
            self._scorers[version] = RewardScorer(registry.version_path(self.model_dir, "reward", version))
        return self._scorers[version]

    def _metadata(self, tracker, round_: int, **extra: Any) -> dict[str, Any]:
        return artifacts.model_metadata(
            self.config, tracker, **{LOOP_METADATA_KEY: {"run": self.namespace, "round": round_}}, **extra
        )

    # --- steps -------------------------------------------------------------------------------------

    def _train_reward(self, round_: int, tracker) -> int:
        """Step 3: refresh the reward model on the whole store; publish it (not promoted)."""
        record = self._round(round_)
        if "reward" in record["steps"]:
            return record["steps"]["reward"]["version"]
        with self._step(round_, "reward"):
            version = self._published(round_, "reward")
            if version is None:
                from brightpath.reward.training import AttentionWeights

                feedback = self.store.feedback_frame()
                champion = self.state["champion"]
                warm = None
                if self.loop.reward_warm_start and champion is not None:
                    warm = AttentionWeights.load(
                        registry.version_path(self.model_dir, "reward", champion["reward"]) / reward_step.WEIGHTS_FILE
                    )

                def log_epoch(epoch: int, values: dict[str, float]) -> None:
                    tracker.log_metrics({f"reward/{k}": v for k, v in values.items()}, step=epoch)

                refreshed = reward_step.refresh(
                    feedback,
                    self.config.reward_model,
                    method=self.loop.reward_calibration,
                    seed=round_seed(self.config.seed, round_),
                    warm_start=warm,
                    warm_epochs=self.loop.reward_warm_epochs,
                    on_epoch=log_epoch,
                )
                metadata = self._metadata(
                    tracker,
                    round_,
                    target_calibration=refreshed.calibration.to_dict(),
                    feedback_through=refreshed.feedback_through,
                    training_rows=refreshed.n_train,
                    validation_rows=refreshed.n_val,
                    warm_started=refreshed.warm_started,
                    calibration_method=self.loop.reward_calibration,
                )
                version = reward_step.publish(
                    self.model_dir, refreshed, model_version=tracker.run_id or self.namespace, metadata=metadata
                )
                tracker.log_metrics(
                    {
                        "reward/best_val_loss": refreshed.trained.history.best_val_loss,
                        "reward/epochs": len(refreshed.trained.history.epochs),
                        "reward/train_seconds": refreshed.trained.history.seconds,
                    }
                )
                self._log_inputs(tracker, feedback, self.store.served_frame())
            meta = registry.read_metadata(registry.version_path(self.model_dir, "reward", version))
            record["steps"]["reward"] = {
                "version": version,
                "feedback_through": meta["feedback_through"],
                "training_rows": meta["training_rows"],
            }
        return version

    def _train_policy(self, round_: int, tracker, reward_version: int) -> int:
        """Step 4: PPO against the refreshed reward model; publish the generator (not promoted)."""
        record = self._round(round_)
        if "policy" in record["steps"]:
            return record["steps"]["policy"]["generator"]
        with self._step(round_, "ppo"):
            champion = self.state["champion"]
            iterations = (
                self.config.agent.num_iterations
                if round_ == 0
                else (self.loop.ppo_iterations or self.config.agent.num_iterations)
            )
            warm = champion is not None and self.loop.ppo_warm_start
            total = iterations + (champion["iterations"] if warm else 0)
            version = self._published(round_, "generator")
            if version is None:
                scorer = self._scorer(reward_version)
                if round_ in self.loop.corrupt_reward_rounds:
                    log.warning("round %d: training the challenger against an inverted reward model (scenario)", round_)
                    scorer = policy.InvertedScorer(scorer)
                families, _ = self._training_families()
                agent = dataclasses.replace(self.config.agent, num_iterations=iterations)
                learner = policy.train_policy(
                    round_dir=self._round_dir(round_),
                    network=self.config.model,
                    agent=agent,
                    env=self.config.env,
                    families=families,
                    seed=round_seed(self.config.seed, round_),
                    scorer=scorer,
                    warm_from=self._round_dir(champion["round"]) if warm else None,
                    description=f"{self.namespace} round {round_} PPO",
                    callbacks=[policy.IterationLogger(tracker)],
                )
                self._save_distribution(round_, learner)
                metadata = self._metadata(
                    tracker,
                    round_,
                    model=self.config.model.name,
                    reward_version=reward_version,
                    ppo_iterations=iterations,
                    total_iterations=total,
                    warm_started=warm,
                    corrupted_reward=round_ in self.loop.corrupt_reward_rounds,
                )
                version, _ = policy.publish(
                    self.model_dir, learner, model_version=tracker.run_id or self.namespace, metadata=metadata
                )
            record["steps"]["policy"] = {
                "generator": version,
                "iterations": iterations,
                "total_iterations": total,
                "warm_started": warm,
            }
        return version

    def _save_distribution(self, round_: int, learner) -> None:
        from envs.schedule_env import family_observation

        families, _ = self.held_out
        mean, std = policy.policy_distribution(learner, family_observation(families))
        policy.save_distribution(self._round_dir(round_), mean, std)

    def _sqrt_kl(self, round_: int) -> float:
        mean, std = policy.load_distribution(self._round_dir(round_))
        mean0, std0 = policy.load_distribution(self._round_dir(0))
        return policy.sqrt_kl(mean, std, mean0, std0)

    def _view(self, generator_version: int, trained_round: int, scorer) -> tuple[dict[str, Any], np.ndarray]:
        from brightpath.generators import SavedModelGenerator

        families, oracle_mean = self.held_out
        evaluation = artifacts.evaluate(
            SavedModelGenerator(registry.version_path(self.model_dir, "generator", generator_version)),
            families,
            scorer=scorer,
            min_coverage=self.config.eval.min_coverage,
        )
        view = research.arm_view(evaluation, oracle_mean)
        view.update(version=generator_version, trained_round=trained_round, sqrt_kl=self._sqrt_kl(trained_round))
        return view, evaluation.true_satisfaction

    def _served_truth(self, round_: int) -> dict[str, float]:
        """Mean true satisfaction of the weeks the round served, by arm (what exploration costs the families)."""
        from brightpath.schedule import PARAM_NAMES, summarize_params
        from brightpath.simulator import true_scores

        out = {}
        for kind in ("serve", "ab"):
            served = self.store.served_frame(cohort=cohorts.cohort_label(self.namespace, round_, kind))
            if served.empty:
                continue
            families = self.world.families(served["family_key"].tolist())
            truth = true_scores(
                families, summarize_params(served[list(PARAM_NAMES)].to_numpy(np.float64), families.grade_band)
            )["satisfaction"]
            for arm, rows in served.groupby(served["arm"].fillna("champion")):
                out[f"{kind}_{arm}_true"] = float(truth[rows.index.to_numpy()].mean())
        return out

    def _log_round(self, round_: int) -> None:
        """Per-round summary metrics on the parent run (step = round)."""
        record = self._round(round_)
        metrics = {}
        for arm, view in (record.get("research") or {}).items():
            if arm in ("champion", "challenger"):
                metrics.update({f"loop/{arm}_{k}": v for k, v in view.items() if isinstance(v, int | float)})
        if record.get("verdict"):
            metrics["loop/promoted"] = float(record["verdict"]["passed"])
        metrics.update({f"loop/served_{k}": v for k, v in (record.get("research") or {}).get("served", {}).items()})
        truth = (record.get("research") or {}).get("truth")
        if truth:
            metrics["loop/truth_agrees"] = float(truth["agrees"])
        metrics.update({f"loop_seconds/{k}": v for k, v in record["seconds"].items()})
        self.tracker.log_metrics(metrics, step=round_)

    # --- rounds ------------------------------------------------------------------------------------

    def bootstrap(self) -> None:
        """Round 0: the logged weeks into the store, the first reward model and policy, promoted."""
        record = self._round(0)
        if record.get("done"):
            return
        report_progress(0.0, "round 0: bootstrap")
        with self._round_run(0) as tracker:
            if "imported" not in record["steps"]:
                with self._step(0, "import"):
                    cohorts.import_logged(self.store, self.world, self.data_root, self.config.data.version)
                    record["steps"]["imported"] = True
            reward_version = self._train_reward(0, tracker)
            generator_version = self._train_policy(0, tracker, reward_version)
            with self._step(0, "promote"):
                for name, version in (
                    ("reward", reward_version),
                    ("generator", generator_version),
                    ("policy", self._published(0, "policy")),
                ):
                    self._promote(name, version)
                self._register(
                    0, tracker, {"generator": generator_version, "reward": reward_version}, mlflow_registry.CHAMPION
                )
                self.state["champion"] = {
                    "generator": generator_version,
                    "reward": reward_version,
                    "round": 0,
                    "iterations": record["steps"]["policy"]["total_iterations"],
                    "feedback_through": record["steps"]["reward"]["feedback_through"],
                }
            if self.loop.research and "research" not in record:
                with self._step(0, "research"):
                    view, _ = self._view(generator_version, 0, self._scorer(reward_version))
                    record["research"] = {"champion": view}
            self._dashboard(0, tracker, None, None)
            record["done"] = True
            self._save()
            self._log_round(0)

    def run_round(self, round_: int) -> None:
        """Round ``round_`` ≥ 1 (module docstring)."""
        record = self._round(round_)
        if record.get("done"):
            return
        total = max(getattr(self, "_last", self.loop.rounds), 1)
        report_progress((round_ - 1) / total, f"round {round_}: serving")
        champion = self.state["champion"]
        record.setdefault("champion_before", dict(champion))
        champion = record["champion_before"]
        with self._round_run(round_) as tracker:
            if "served" not in record["steps"]:
                with self._step(round_, "serve"):
                    new_keys, _ = self.world.new(round_)
                    keys = new_keys + self.world.returning(round_)
                    served = cohorts.serve_cohort(
                        self.store,
                        self._generator(champion["generator"]),
                        champion["generator"],
                        keys,
                        self.world.families(keys),
                        namespace=self.namespace,
                        round_=round_,
                        kind="serve",
                        explore=(self.loop.explore_share, self.loop.explore_sd, self.config.seed),
                    )
                    cohorts.collect_feedback(self.store, self.world, served, round_=round_)
                    record["steps"]["served"] = len(served)
            if "trigger" not in record["steps"]:
                with self._step(round_, "monitor"):
                    from brightpath.monitoring import log_alerts
                    from brightpath.monitoring.retraining import retraining_trigger
                    from brightpath.monitoring.store_report import monitor_store

                    found = monitor_store(
                        self.store,
                        window=cohorts.week_of_round(round_),
                        feedback_since=_timestamp(champion["feedback_through"]),
                        calibration=self._scorer(champion["reward"]).calibration,
                    )
                    alerts = found.report.alerts()
                    log_alerts(alerts)
                    trigger = retraining_trigger(alerts, found.new_feedback, self.loop.trigger)
                    record["steps"]["trigger"] = trigger.to_dict()
                    record["monitoring"] = {
                        "alerts": [a.to_dict() for a in alerts],
                        "notes": list(found.notes),
                        "drift": None
                        if found.report.drift is None
                        else {
                            "dataset_drift": found.report.drift.dataset_drift,
                            "share_drifted": found.report.drift.share_drifted,
                        },
                    }
                    self._tag_alerts(round_, alerts)
            if not record["steps"]["trigger"]["fired"]:
                record["note"] = "no retraining: the trigger did not fire"
                self._dashboard(round_, tracker, None, record["steps"]["trigger"])
                record["done"] = True
                self._save()
                self._log_round(round_)
                return
            report_progress((round_ - 0.8) / total, f"round {round_}: reward model")
            reward_version = self._train_reward(round_, tracker)
            report_progress((round_ - 0.6) / total, f"round {round_}: PPO")
            generator_version = self._train_policy(round_, tracker, reward_version)
            self._register(
                round_, tracker, {"generator": generator_version, "reward": reward_version}, mlflow_registry.CHALLENGER
            )
            report_progress((round_ - 0.3) / total, f"round {round_}: A/B gate")
            verdict = self._gate(round_, champion, generator_version)
            with self._step(round_, "promote"):
                self._decide(round_, tracker, verdict, generator_version, reward_version)
            if self.loop.research and "research" not in record:
                with self._step(round_, "research"):
                    scorer = self._scorer(reward_version)
                    champion_view, champion_true = self._view(champion["generator"], champion["round"], scorer)
                    challenger_view, challenger_true = self._view(generator_version, round_, scorer)
                    record["research"] = {
                        "champion": champion_view,
                        "challenger": challenger_view,
                        "truth": research.truth_verdict(champion_true, challenger_true, verdict["decision"]),
                        "served": self._served_truth(round_),
                    }
            self._dashboard(round_, tracker, verdict, record["steps"]["trigger"])
            record["done"] = True
            self._save()
            self._log_round(round_)

    def _gate(self, round_: int, champion: dict[str, Any], challenger: int) -> dict[str, Any]:
        """Step 5: the A/B cohort served half by each arm, its feedback, the verdict from the store."""
        record = self._round(round_)
        if "verdict" in record:
            return record["verdict"]
        with self._step(round_, "gate"):
            keys, families = self.world.ab_cohort(round_)
            arms = ab.assign_arms(len(keys), np.random.default_rng([self.config.seed, STREAMS["arms"], round_]))
            generators = {
                "champion": (self._generator(champion["generator"]), champion["generator"]),
                "challenger": (self._generator(challenger), challenger),
            }
            served = cohorts.serve_cohort(
                self.store,
                generators,
                None,
                keys,
                families,
                namespace=self.namespace,
                round_=round_,
                kind="ab",
                arms=arms,
            )
            cohorts.collect_feedback(self.store, self.world, served, round_=round_)
            cohort = cohorts.cohort_label(self.namespace, round_, "ab")
            production = self._scorer(champion["reward"])
            verdict = ab.judge(
                self.store.served_frame(cohort=cohort, include_schedule=True),
                self.store.feedback_frame(cohort=cohort),
                calibration=production.calibration,
                config=self.loop.gate,
                names=(f"v{champion['generator']}", f"v{challenger}"),
                scorer=production if self.loop.gate_score == "blended" else None,
            )
            record["verdict"] = verdict.to_dict()
            (self._round_dir(round_) / VERDICT_FILE).write_text(json.dumps(record["verdict"], indent=2, sort_keys=True))
        return record["verdict"]

    def _decide(
        self, round_: int, tracker, verdict: dict[str, Any], generator_version: int, reward_version: int
    ) -> None:
        """Step 6: tag the verdict everywhere; on a pass move the champion (registry link and MLflow alias)."""
        record = self._round(round_)
        passed = bool(verdict["passed"])
        tracker.log_dict(verdict, "gate/verdict.json")
        tracker.set_tags(
            {"gate_decision": verdict["decision"], "gate_failed_checks": ",".join(verdict["failed_checks"]) or "none"}
        )
        if self._client is not None:
            for kind, name in (("generator", self.loop.generator_model), ("reward", self.loop.reward_model)):
                mlflow_registry.tag_verdict(self._client, name, record["mlflow_versions"][kind], verdict)
        log.info(
            "round %d: gate %s v%d vs champion v%d%s",
            round_,
            verdict["decision"],
            generator_version,
            self.state["champion"]["generator"],
            "" if passed else " (" + "; ".join(verdict["reasons"]) + ")",
        )
        if passed:
            for name, version in (
                ("reward", reward_version),
                ("generator", generator_version),
                ("policy", self._published(round_, "policy")),
            ):
                self._promote(name, version)
            if self._client is not None:
                for kind, name in (("generator", self.loop.generator_model), ("reward", self.loop.reward_model)):
                    mlflow_registry.set_alias(
                        self._client, name, mlflow_registry.CHAMPION, record["mlflow_versions"][kind]
                    )
            self.state["champion"] = {
                "generator": generator_version,
                "reward": reward_version,
                "round": round_,
                "iterations": record["steps"]["policy"]["total_iterations"],
                "feedback_through": record["steps"]["reward"]["feedback_through"],
            }
        record["promoted"] = passed

    def _tag_alerts(self, round_: int, alerts) -> None:
        """Alerts as MLflow tags of the parent run: ``alerts.round_<r>`` (their log records, JSON)."""
        from brightpath.monitoring import most_severe

        records = [a.to_log_record() for a in alerts]
        self.tracker.set_tags(
            {
                f"alerts.round_{round_:02d}": json.dumps(records, sort_keys=True)[:7900],
                f"alerts.round_{round_:02d}.most_severe": most_severe(alerts) or "none",
            }
        )

    def _dashboard(self, round_: int, tracker, verdict: dict[str, Any] | None, trigger: dict[str, Any] | None):
        """The monitoring dashboard of the round's week (with the gate's verdict), written and logged."""
        from brightpath.monitoring import write_dashboard
        from brightpath.monitoring.retraining import RetrainingTrigger
        from brightpath.monitoring.store_report import monitor_store

        champion = self.state["champion"]
        gate = _verdict_object(verdict) if verdict else None
        extra = (
            (RetrainingTrigger(trigger["fired"], tuple(trigger["reasons"]), trigger["new_feedback"]).alert(),)
            if trigger
            else ()
        )
        found = monitor_store(
            self.store,
            window=cohorts.week_of_round(round_),
            gate=gate,
            extra_alerts=extra,
            calibration=self._scorer(champion["reward"]).calibration,
            title=f"BrightPath loop {self.namespace}: week of round {round_}",
        )
        path = write_dashboard(found.report, Path(self.config.paths.reports_dir) / "loop" / "dashboard.html")
        self.tracker.log_artifact(path, f"dashboard/round-{round_:02d}")
        self.tracker.log_artifact(path, "dashboard")
        return found

    # --- the reference and the report ---------------------------------------------------------------

    def oracle_reference(self, iterations: int) -> dict[str, Any]:
        """PPO rewarded by the hidden truth for ``iterations`` iterations from scratch, on the families the loop
        trains on, evaluated on the held-out families (the bar's reference; computed once per budget)."""
        references = self.state.setdefault("oracle_reference", {}) or {}
        self.state["oracle_reference"] = references
        if str(iterations) in references:
            return references[str(iterations)]
        from agents.export import export_ppo_generator
        from brightpath.generators import SavedModelGenerator

        started = time.perf_counter()
        directory = self.state_dir / f"oracle-reference-{iterations}"
        agent = dataclasses.replace(self.config.agent, num_iterations=iterations)
        env = dataclasses.replace(self.config.env, reward_source="oracle")
        families, _ = self._training_families()
        learner = policy.train_policy(
            round_dir=directory,
            network=self.config.model,
            agent=agent,
            env=env,
            families=families,
            seed=round_seed(self.config.seed, 0),
            scorer=None,
            warm_from=None,
            description=f"{self.namespace} oracle-reward reference",
        )
        generator_dir = export_ppo_generator(
            learner.agent.policy, directory / "generator", model_version=f"{self.namespace}-oracle-reference"
        )
        held_out, oracle_mean = self.held_out
        evaluation = artifacts.evaluate(
            SavedModelGenerator(generator_dir), held_out, min_coverage=self.config.eval.min_coverage
        )
        view = research.arm_view(evaluation, oracle_mean)
        references[str(iterations)] = {
            "true": view["true"],
            "pct_of_oracle": view["pct_of_oracle"],
            "invalid_rate": view["invalid_rate"],
            "iterations": iterations,
            "seconds": time.perf_counter() - started,
        }
        self._save()
        return references[str(iterations)]

    def final_view(self) -> dict[str, Any]:
        """The champion at the end, scored by its own (promoted) reward model."""
        champion = self.state["champion"]
        if self.state.get("final", {}).get("version") != champion["generator"]:
            view, _ = self._view(champion["generator"], champion["round"], self._scorer(champion["reward"]))
            self.state["final"] = view
            self._save()
        return self.state["final"]

    def report(self, started: float) -> dict[str, float]:
        """``reports/loop.md`` and its plot, written and logged; returns the final metrics."""
        final = self.final_view() if self.loop.research else None
        reference, static = None, None
        if self.loop.research and self.loop.oracle_reference:
            reference = self.oracle_reference(self.state["champion"]["iterations"])
            if self.config.agent.num_iterations != reference["iterations"]:
                static = self.oracle_reference(self.config.agent.num_iterations)
        rounds = self.state["rounds"]
        verdicts = [r["verdict"] for r in rounds.values() if r.get("verdict")]
        truths = [r["research"]["truth"] for r in rounds.values() if (r.get("research") or {}).get("truth")]
        metrics = {
            "loop/rounds": float(len(rounds) - 1),
            "loop/promotions": float(sum(v["passed"] for v in verdicts)),
            "loop/rejections": float(sum(not v["passed"] for v in verdicts)),
            "loop/champion_version": float(self.state["champion"]["generator"]),
        }
        summary: dict[str, Any] = {}
        if truths:
            metrics["loop/truth_agreement"] = float(np.mean([t["agrees"] for t in truths]))
            summary["gate decisions the hidden truth agrees with"] = (
                f"{sum(t['agrees'] for t in truths)} of {len(truths)}"
            )
        if final:
            metrics.update(
                {f"final/champion_{key}": final[key] for key in ("true", "pct_of_oracle", "proxy", "gap", "sqrt_kl")}
            )
            summary["champion (v{}) true satisfaction".format(final["version"])] = (
                f"{final['true']:.4f} = {final['pct_of_oracle']:.2f} % of the oracle"
            )
            summary["proxy − true gap on the champion's weeks (bar ±0.02)"] = (
                f"{final['gap']:+.4f} ({'met' if abs(final['gap']) <= 0.02 else 'not met'})"
            )
        if reference:
            metrics.update(
                {
                    "final/oracle_reward_pct_of_oracle": reference["pct_of_oracle"],
                    "final/oracle_reward_true": reference["true"],
                }
            )
            if final:
                distance = reference["pct_of_oracle"] - final["pct_of_oracle"]
                metrics["final/points_below_oracle_reward"] = distance
                summary[f"PPO rewarded by the hidden truth, {reference['iterations']} iterations"] = (
                    f"{reference['true']:.4f} = {reference['pct_of_oracle']:.2f} % of the oracle"
                )
                summary["champion − truth-rewarded PPO (bar: within 0.25 points)"] = (
                    f"{-distance:+.2f} points ({'met' if distance <= 0.25 else 'not met'})"
                )
                if static is not None:
                    metrics["final/oracle_reward_round0_budget_pct_of_oracle"] = static["pct_of_oracle"]
                    summary[
                        f"for comparison, truth-rewarded PPO at round 0's budget, {static['iterations']} iterations"
                    ] = (
                        f"{static['true']:.4f} = {static['pct_of_oracle']:.2f} % of the oracle "
                        f"(champion {final['pct_of_oracle'] - static['pct_of_oracle']:+.2f} points)"
                    )
        settings = {
            "rounds": self.loop.rounds,
            "cohorts (new / returning / A/B)": (
                f"{self.loop.new_families} / {self.loop.returning_families} / {self.loop.ab_families}"
            ),
            "PPO iterations (round 0 / retraining)": f"{self.config.agent.num_iterations} / "
            f"{self.loop.ppo_iterations or self.config.agent.num_iterations}",
            "exploration (share / sd)": f"{self.loop.explore_share} / {self.loop.explore_sd}",
            "PPO warm start": self.loop.ppo_warm_start,
            "reward warm start": self.loop.reward_warm_start,
            "reward calibration": self.loop.reward_calibration,
            "gate score": self.loop.gate_score,
            "held-out families": self.config.eval.n_families,
            "seed": self.config.seed,
            "store": self.store.url,
        }
        timings = {"the whole run": time.perf_counter() - started}
        for done in (reference, static):
            if done:
                timings[f"oracle reference ({done['iterations']} iterations)"] = done["seconds"]
        text = research.markdown(
            self.state,
            summary=summary,
            commands=[_command()],
            timings=timings,
            plot_name="loop_true_vs_proxy.png",
            settings=settings,
        )
        path, plot = research.write_report(
            Path(self.config.paths.reports_dir) / "loop.md", text, research.figure(rounds, reference)
        )
        self.tracker.log_artifact(path, "report")
        self.tracker.log_artifact(plot, "report")
        self.tracker.log_dict(self.state, "loop_state.json")
        return metrics

    def last_round(self) -> int:
        """The last round this run goes to: ``loop.rounds``, or ``loop.more_rounds`` after the last one done."""
        done = [int(k) for k, r in self.state["rounds"].items() if r.get("done")]
        return max(self.loop.rounds, max(done, default=0) + self.loop.more_rounds)

    def run(self) -> dict[str, float]:
        started = time.perf_counter()
        self.bootstrap()
        self._last = self.last_round()
        for round_ in range(1, self._last + 1):
            self.run_round(round_)
        report_progress(0.97, "report")
        metrics = self.report(started)
        self.store.close()
        return metrics


def _timestamp(text: str):
    import pandas as pd

    return pd.Timestamp(text).to_pydatetime()


def _verdict_object(verdict: dict[str, Any]):
    """A ``GateVerdict`` rebuilt from its dict (for the dashboard's gate section)."""
    from brightpath.gate import GateConfig, GateVerdict, ThresholdCheck

    def number(value):
        return float("nan") if value is None else value

    checks = tuple(
        ThresholdCheck(
            **{
                k: number(v)
                if k not in ("name", "segment", "level", "passed", "skipped", "message", "n_champion", "n_challenger")
                else v
                for k, v in check.items()
            }
        )
        for check in verdict["checks"]
    )
    return GateVerdict(
        passed=verdict["passed"],
        champion=verdict["champion"],
        challenger=verdict["challenger"],
        test=verdict["test"],
        champion_mean=verdict["champion_mean"],
        challenger_mean=verdict["challenger_mean"],
        checks=checks,
        config=GateConfig(**verdict["config"]),
    )


def _command() -> str:
    import sys

    return (
        " ".join(["python -m experiments.train", *sys.argv[1:]])
        if sys.argv[1:]
        else "python -m experiments.train +exp=loop"
    )


__all__ = ["LOOP_METADATA_KEY", "Loop", "LoopStateError", "STATE_FILE", "database_url", "round_seed"]
