"""schemathesis against a served bot's ``/api/openapi.json`` through its Python API (the engine its CLI runs).

(Its pytest plugin does not run under pytest 9: it sets ``Node._nodeid``, so the engine is driven directly.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
          "unsupported_method")
PHASES = ("examples", "coverage", "fuzzing")


@dataclass
class ContractRun:
    """What a run found: requests made, and one line per distinct failure (operation, check, message)."""

    cases: int = 0
    operations: int = 0
    failures: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"{self.cases} cases over {self.operations} operations, {len(self.failures)} distinct failures, "
                 f"{len(self.errors)} errors", *sorted(self.failures), *self.errors]
        return "\n".join(lines)


def run_contract(base_url: str, token: str, examples: int, *, seed: int = 16,
                 phases: tuple[str, ...] = PHASES) -> ContractRun:
    """Every operation: the document's examples, the coverage phase (boundaries, unsupported methods) and
    ``examples`` generated requests, valid and invalid, derandomized by ``seed``; every check of CHECKS.
    ``phases`` may add ``stateful`` (sequences of calls, the big run)."""
    config = SchemathesisConfig.from_dict({
        "seed": seed, "base-url": base_url, "headers": {"Authorization": f"Bearer {token}"},
        "generation": {"mode": "all", "max-examples": examples, "deterministic": True, "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"enabled": False, **{name: {"enabled": True} for name in phases}},
        "suppress-health-check": ["all"], "continue-on-failure": True,
    })
    schema = schemathesis.openapi.from_url(base_url + "/api/openapi.json", config=config)
    run = ContractRun()
    labels: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            labels.add(recorder.label)
            run.cases += len(recorder.interactions)
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        run.failures.add(f"{recorder.label} | {check.name} | {failure.title}: "
                                         f"{failure.message.splitlines()[0] if failure.message else ''}")
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            run.errors.append(f"fatal: {event.exception!r}")
    run.operations = len(labels)
    return run
