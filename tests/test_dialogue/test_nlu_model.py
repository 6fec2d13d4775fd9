"""The learned part of the spotter: corpus and frozen split, weights file, thresholds, explanations."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest

from bench.nlu import TEST_SHA256
from dialogue.confirm import typed_answer
from dialogue.intent import discover
from dialogue.nlu import Spotter
from dialogue.nlu.cli import run_nlu_cli
from dialogue.nlu.combine import Thresholds, score
from dialogue.nlu.corpus import DATA_DIR, LABELS, Example, checksum, load, save, split
from dialogue.nlu.features import CHAR_SIZES
from dialogue.nlu.model import DEFAULT_WEIGHTS, FORMAT, LinearModel, ModelError
from dialogue.nlu.spotter import model_setting
from dialogue.nlu.train import fit

SPLITS = {name: load(DATA_DIR / f"{name}.tsv") for name in ("train", "dev", "test")}


@pytest.fixture(scope="module")
def spotter() -> Spotter:
    return Spotter(discover("intents"))


def test_the_test_split_is_frozen() -> None:
    assert checksum(DATA_DIR / "test.tsv") == TEST_SHA256, "test.tsv changed: it is frozen, never edit it"


def test_corpus_covers_the_languages_and_labels_and_splits_once() -> None:
    rows = [r for part in SPLITS.values() for r in part]
    assert len(rows) >= 2000
    assert {r.intent for r in rows} == set(LABELS)
    assert {"en", "tl", "vi", "es", "pt", "id", "ms", "th", "mix"} <= {r.lang for r in rows}
    assert all(not any(c in r.text for c in '\t\n"') for r in rows)
    texts = [r.text.casefold() for r in rows]
    assert len(set(texts)) == len(texts)  # no message in two splits
    shares = [len(part) / len(rows) for part in SPLITS.values()]
    assert 0.66 < shares[0] < 0.74 and 0.12 < shares[1] < 0.18 and 0.12 < shares[2] < 0.18
    again = split(sorted(rows, key=lambda r: r.text))  # the split depends on the rows, not their order
    assert [sorted(r.text for r in part) for part in again] == [sorted(r.text for r in p) for p in SPLITS.values()]


def test_corpus_files_round_trip_and_bad_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "mine.tsv"
    save(path, [Example("  LIVE po  ", "opt_in_reminders", "tl", "comment"), Example("", "none")])
    assert load(path) == [Example("  LIVE po  ", "opt_in_reminders", "tl", "comment"), Example("", "none")]
    path.write_text("text\tintent\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"mine.tsv:2"):
        load(path)


def test_the_shipped_weights_load_and_have_the_shape_training_writes() -> None:
    shipped = LinearModel.load(DEFAULT_WEIGHTS)
    assert shipped.labels == LABELS
    assert DEFAULT_WEIGHTS.stat().st_size < 1_000_000
    assert set(shipped.thresholds) == set(Thresholds.__dataclass_fields__)
    assert shipped.trained["files"]["train"]["sha256"] == checksum(DATA_DIR / "train.tsv")
    assert shipped.trained["files"]["dev"]["sha256"] == checksum(DATA_DIR / "dev.tsv")
    fresh = fit(SPLITS["train"][:200], epochs=2).to_dict()
    on_disk = json.loads(DEFAULT_WEIGHTS.read_text("utf-8"))
    assert set(fresh) == set(on_disk) and fresh["format"] == on_disk["format"] == FORMAT
    assert fresh["labels"] == on_disk["labels"] and on_disk["char_sizes"] == list(CHAR_SIZES)
    assert all(len(row) == len(LABELS) for row in shipped.weights.values())


def test_a_weights_file_that_cannot_be_used_says_why(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        model_setting(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(DEFAULT_WEIGHTS.read_text("utf-8")), "char_sizes": [2, 9]}))
    with pytest.raises(ModelError, match="retrain"):
        model_setting(str(bad))
    bad.write_text("{not json")
    with pytest.raises(ModelError, match="not JSON"):
        model_setting(str(bad))
    assert model_setting("none") is None


def test_thresholds_hold_on_the_dev_split_they_were_chosen_on(spotter: Spotter) -> None:
    rows = SPLITS["dev"]
    s = score([r.intent for r in rows], [spotter.decision(r.text) for r in rows])
    assert s.recall("opt_out") == 1.0
    assert s.precision("opt_in_reminders") >= 0.98
    assert spotter.thresholds is not None and spotter.thresholds.opt_out_ask < spotter.thresholds.opt_out_sure


def test_the_model_alone_never_stops_anyone_silently(spotter: Spotter) -> None:
    for row in SPLITS["train"] + SPLITS["dev"]:
        d = spotter.decision(row.text)
        if d.intent == "opt_out" and not d.confirm:
            assert d.reason.startswith("rule") or "opt_out pattern" in d.reason or "misspelt" in d.reason, d


def test_explain_says_what_decided(spotter: Spotter) -> None:
    keyword = spotter.explain("LIVE po 🔴").as_dict()
    assert keyword["decided_by"] == "rule: the opt-in keyword" and keyword["model"] is None
    unsure = spotter.explain("too many messages").as_dict()
    assert unsure["intent"] == "opt_out" and unsure["confirm"] is True and "ask" in unsure["decided_by"]
    assert set(unsure["model"]) == set(LABELS) and abs(sum(unsure["model"].values()) - 1) < 0.01
    assert unsure["thresholds"] == spotter.thresholds.as_dict()  # type: ignore[union-attr]
    out = io.StringIO()
    run_nlu_cli(io.StringIO("LIVE\nthis is spam\n"), out, ("LIVE",), explain=True)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["intent"] for r in records] == ["opt_in_reminders", "opt_out"]
    assert all({"decided_by", "rule", "model", "blended", "thresholds", "confidence"} <= set(r) for r in records)


def test_rules_alone_still_work() -> None:
    rules = Spotter(discover("intents"), model=None)
    assert rules.thresholds is None
    assert rules.spot("LIVE").intent == "opt_in_reminders"
    assert rules.spot("stop").intent == "opt_out" and not rules.spot("stpo").confirm


def test_another_shops_keyword_is_not_this_shops(spotter: Spotter) -> None:
    sale = Spotter(discover("intents"), optin_keywords=("SALE",))
    assert sale.spot("LIVE po").intent == "none"  # the model learned LIVE; this shop uses SALE
    assert sale.spot("SALE po").intent == "opt_in_reminders"


@pytest.mark.parametrize(("text", "answer"), [
    ("Yes", True), ("oo po", True), ("có ạ", True), ("Sí", True), ("sim!", True), ("ใช่ค่ะ", True),
    ("no", False), ("Hindi po", False), ("không ạ", False), ("Não", False), ("ไม่ค่ะ", False),
    ("maybe later", None), ("", None),
])
def test_typed_answers_to_the_stop_question(text: str, answer: bool | None) -> None:
    assert typed_answer(text) is answer


def test_corpus_languages_are_balanced_enough() -> None:
    langs = Counter(r.lang for part in SPLITS.values() for r in part)
    assert all(langs[lang] >= 150 for lang in ("en", "tl", "vi", "es", "pt", "id", "th")), langs
