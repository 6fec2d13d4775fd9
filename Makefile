# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check install bench bench-ingest bench-send bench-nlu bench-fanout bench-faults bench-e2e bench-worker bench-trips bench-pages contract clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Run the bot in sandbox mode on the embedded Redis (no Facebook app needed).
run: $(STAMP)
	$(BIN)/salebell serve

## Lint and type-check (ruff, mypy); CI runs it before the tests.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## Run the test suite against REDIS_URL (default: the local Redis, db 15).
test: $(STAMP)
	$(BIN)/pytest -q

## schemathesis against the served admin API: many examples per operation (CONTRACT_EXAMPLES, default 200)
## and the stateful phase (sequences of calls) besides examples, coverage and fuzzing.
contract: $(STAMP)
	CONTRACT_EXAMPLES=$${CONTRACT_EXAMPLES:-200} CONTRACT_PHASES=examples,coverage,fuzzing,stateful $(BIN)/pytest -q -s -p no:cacheprovider --timeout=3600 \
		tests/test_openapi_contract.py

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-send: $(STAMP)
	$(BIN)/python bench/send.py

bench-nlu: $(STAMP)
	$(BIN)/python bench/nlu.py

bench-fanout: $(STAMP)
	$(BIN)/python bench/fanout.py

## A shopper's "LIVE" end to end beside Bottender 1.5.5, in one run (ARGS="--profile /tmp/prof" for py-spy).
bench-e2e: $(STAMP)
	$(BIN)/python bench/e2e.py $(ARGS)

## One worker's CPU per chat event on a stored load (A/B: ARGS="--variant before=/tmp/before --variant now=.")
bench-worker: $(STAMP)
	$(BIN)/python bench/worker_cpu.py $(ARGS)

## Redis round trips of one chat event, webhook to sent (MONITOR; issue 10's <= 12).
bench-trips: $(STAMP)
	$(BIN)/python bench/round_trips.py

bench-pages: $(STAMP)
	$(BIN)/python bench/pages.py

## The fault suite's scenarios at 5,000 subscribers and 300 webhooks/s (minutes; prints a table).
bench-faults: $(STAMP)
	$(BIN)/python bench/faults.py

bench: bench-nlu bench-send bench-ingest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
