# Everyday commands. `make` (or `make help`) lists them; extra Hydra overrides go in ARGS,
# e.g. `make train ARGS="model=transformer seed=3"`.
PYTHON := .venv/bin/python
TRAIN  := $(PYTHON) -m experiments.train
UV     := $(if $(wildcard .venv/bin/uv),.venv/bin/uv,uv)
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help setup train data reward baseline results evaluate sweep sweep-ray search loop weeks monitor \
	serve worker migrate services mlflow-server services-stop test lint bench mlflow-ui lock

help:  ## List the targets
	@echo "BrightPath ML: make <target> [ARGS='hydra overrides']"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'

setup:  ## Create or refresh .venv from requirements/lock.txt (scripts/bootstrap.sh)
	bash scripts/bootstrap.sh

train: setup  ## Train the PPO schedule generator (+exp=ppo)
	$(TRAIN) +exp=ppo $(ARGS)

data: setup  ## Generate the synthetic datasets and data card (+exp=data)
	$(TRAIN) +exp=data $(ARGS)

reward: setup  ## Train the reward model (+exp=reward)
	$(TRAIN) +exp=reward $(ARGS)

baseline: setup  ## Train the baseline regressor generators (+exp=baseline)
	$(TRAIN) +exp=baseline $(ARGS)

results: setup  ## The results table: every generator on 1,000 held-out families -> reports/results.{md,csv,png}
	$(TRAIN) +exp=results $(ARGS)

evaluate: setup  ## A/B test two generators, e.g. make evaluate ARGS="a=expert b=ppo_mlp"
	$(PYTHON) -m experiments.evaluate $(ARGS)

sweep: setup  ## PPO sweep: model=mlp,transformer x seed=0,1,2, one after another, grouped in MLflow
	$(TRAIN) -m +exp=ppo model=mlp,transformer seed=0,1,2 $(ARGS)

sweep-ray: setup  ## The same sweep as Ray tasks (a local Ray runtime, or RAY_ADDRESS's cluster)
	$(TRAIN) -m +exp=ppo model=mlp,transformer seed=0,1,2 hydra/launcher=ray $(ARGS)

search: setup  ## Optuna (TPE) search over PPO's hyper-parameters, 20 trials on Ray (hparams_search=ppo_optuna)
	$(TRAIN) -m +exp=ppo hparams_search=ppo_optuna $(ARGS)

loop: setup  ## The continuous-improvement loop: serve, feedback, reward model, PPO, A/B gate, registry (+exp=loop)
	$(TRAIN) +exp=loop $(ARGS)

weeks: setup  ## Multi-week PPO that adapts to each family's feedback (+exp=weeks, model=weeks_mlp|weeks_transformer|weeks_rnn)
	$(TRAIN) +exp=weeks $(ARGS)

monitor: setup  ## Drift, degradation, segments and health of the store -> reports/monitoring/dashboard.html
	$(PYTHON) -m experiments.monitor $(ARGS)

serve: setup  ## The model service on http://127.0.0.1:8001 (OpenAPI at /docs)
	$(PYTHON) -m serving $(ARGS)

worker: setup  ## The training-job worker (Celery; Redis at BRIGHTPATH_BROKER_URL)
	$(PYTHON) -m serving.worker $(ARGS)

migrate: setup  ## Bring the store's schema up to date (Alembic; BRIGHTPATH_DATABASE_URL or ./brightpath.db)
	$(PYTHON) -m brightpath.store upgrade $(ARGS)

services: setup  ## Start Redis, a throwaway PostgreSQL and an MLflow server on it in .services/; eval its output
	$(PYTHON) -m scripts.services start redis postgres mlflow $(ARGS)

mlflow-server: setup  ## An MLflow server on a local PostgreSQL (.services/); eval the printed exports to use it
	$(PYTHON) -m scripts.services start postgres mlflow $(ARGS)

services-stop:  ## Stop what `make services` / `make mlflow-server` started (by their pids)
	$(PYTHON) -m scripts.services stop $(ARGS)

test: setup  ## Run the test suite
	$(PYTHON) -m pytest $(ARGS)

lint: setup  ## ruff check (what .ci/run runs)
	.venv/bin/ruff check . $(ARGS)

bench: setup  ## Run the benchmarks (results in reports/benchmarks/ and MLflow)
	$(PYTHON) -m experiments.benchmarks $(ARGS)

mlflow-ui: setup  ## Browse runs at http://127.0.0.1:5000
	.venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db $(ARGS)

lock:  ## Recompile requirements/lock.txt from setup.cfg + requirements/overrides.txt (then: make setup)
	$(UV) pip compile setup.cfg --all-extras --override requirements/overrides.txt \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
		-o requirements/lock.txt
