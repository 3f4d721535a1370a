# Everyday commands. `make` (or `make help`) lists them; extra Hydra overrides go in ARGS,
# e.g. `make train ARGS="model=transformer seed=3"`.
PYTHON := .venv/bin/python
TRAIN  := $(PYTHON) -m experiments.train
UV     := $(if $(wildcard .venv/bin/uv),.venv/bin/uv,uv)
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help setup train data reward baseline results evaluate sweep test bench mlflow-ui lock

help:  ## List the targets
	@echo "BrightPath ML: make <target> [ARGS='hydra overrides']"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

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

sweep: setup  ## PPO sweep: model=mlp,transformer x seed=0,1,2, grouped in MLflow
	$(TRAIN) -m +exp=ppo model=mlp,transformer seed=0,1,2 $(ARGS)

test: setup  ## Run the test suite
	$(PYTHON) -m pytest $(ARGS)

bench: setup  ## Run the benchmarks (results in reports/benchmarks/ and MLflow)
	$(PYTHON) -m experiments.benchmarks $(ARGS)

mlflow-ui: setup  ## Browse runs at http://127.0.0.1:5000
	.venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db $(ARGS)

lock:  ## Recompile requirements/lock.txt from setup.cfg + requirements/overrides.txt (then: make setup)
	$(UV) pip compile setup.cfg --all-extras --override requirements/overrides.txt \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
		-o requirements/lock.txt
