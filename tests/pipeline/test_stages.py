"""The one staleness rule (affdist_core.pipeline.stage) on tiny stages, the code version it relies on, and the
demo's stage list: a changed training default reruns the model and everything after it, never the simulation.

No model is trained here: the demo's run functions are replaced by ones that write their stage's outputs."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affdist_core.common import fingerprint
from affdist_core.common.names import STAGE_TIMES_FILE, STAGES_FILE
from affdist_core.io.library import InVitroLibrary
from affdist_core.pipeline.stage import Stage, run_stages


class Tiny:
    """Stages a → b → c and a → d writing one small file each; ``settings`` per stage can be changed."""

    def __init__(self, root: Path):
        self.root = root
        self.settings = {name: {"n": 1} for name in "abcd"}
        self.ran: list[str] = []

    def _run(self, name: str, reads: tuple[str, ...]):
        def run():
            text = json.dumps({"settings": self.settings[name],
                               "read": [(self.root / f"{r}.txt").read_text() for r in reads]})
            (self.root / f"{name}.txt").write_text(text)
            self.ran.append(name)
        return run

    def stages(self) -> list[Stage]:
        graph = {"a": (), "b": ("a",), "c": ("b",), "d": ("a",)}
        return [Stage(name, self._run(name, after), outputs=(f"{name}.txt",), after=after,
                      settings=lambda name=name: self.settings[name], code=("affdist_core.common.rng",))
                for name, after in graph.items()]

    def run(self, **kwargs) -> list[str]:
        self.ran = []
        run_stages(self.stages(), self.root, **kwargs)
        return self.ran


def test_unchanged_stages_are_skipped(tmp_path, caplog):
    tiny = Tiny(tmp_path)
    assert tiny.run() == ["a", "b", "c", "d"]
    with caplog.at_level("INFO", logger="affdist_core.pipeline.stage"):
        assert tiny.run() == []
    assert caplog.text.count("done already") == 4
    records = json.loads((tmp_path / STAGES_FILE).read_text())
    assert list(records) == ["a", "b", "c", "d"] and records["b"]["parts"]["upstream"] == {"a": records["a"]["stamp"]}
    assert set(json.loads((tmp_path / STAGE_TIMES_FILE).read_text())) == set("abcd")


def test_changed_settings_rerun_the_stage_and_its_dependents_only(tmp_path, caplog):
    tiny = Tiny(tmp_path)
    tiny.run()
    tiny.settings["b"] = {"n": 2}
    with caplog.at_level("INFO", logger="affdist_core.pipeline.stage"):
        assert tiny.run() == ["b", "c"]
    assert "stage b: rerun because settings changed (n: 1 → 2)" in caplog.text
    assert "stage c: rerun because upstream stage reran: b" in caplog.text
    tiny.settings["a"] = {"n": 5}
    assert tiny.run() == ["a", "b", "c", "d"]
    assert tiny.run() == []


def test_missing_output_reruns_the_stage_and_its_dependents(tmp_path, caplog):
    tiny = Tiny(tmp_path)
    tiny.run()
    (tmp_path / "b.txt").unlink()
    with caplog.at_level("INFO", logger="affdist_core.pipeline.stage"):
        assert tiny.run() == ["b", "c"]
    assert "stage b: rerun because output(s) missing: b.txt" in caplog.text


def test_force_reruns_everything_and_cleans(tmp_path):
    tiny = Tiny(tmp_path)
    tiny.run()
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "old.bin").write_bytes(b"x")
    stages = [dataclasses.replace(s, clean=("scratch",)) if s.name == "c" else s for s in tiny.stages()]
    tiny.ran = []
    run_stages(stages, tmp_path, force=True)
    assert tiny.ran == ["a", "b", "c", "d"] and not (tmp_path / "scratch").exists()
    tiny.run()  # a plain run never cleans
    assert tiny.ran == []


def test_an_interrupted_stage_runs_again(tmp_path):
    tiny = Tiny(tmp_path)
    tiny.run()
    tiny.settings["c"] = {"n": 3}
    stages = tiny.stages()
    stages[2] = dataclasses.replace(stages[2], run=lambda: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        run_stages(stages, tmp_path)
    assert "c" not in json.loads((tmp_path / STAGES_FILE).read_text())
    tiny.settings["c"] = {"n": 1}  # back to the recorded settings: still runs, its record is gone
    assert tiny.run() == ["c"]


def test_stage_order_and_outputs_are_checked(tmp_path):
    tiny = Tiny(tmp_path)
    with pytest.raises(ValueError, match="stage b: after \\['a'\\]: expected stages that come earlier"):
        run_stages(tiny.stages()[1:], tmp_path)
    lazy = Stage("lazy", lambda: None, outputs=("never.txt",))
    with pytest.raises(RuntimeError, match="stage lazy: finished without writing"):
        run_stages([lazy], tmp_path)


def test_code_version_follows_imports_and_ignores_docstrings(tmp_path, monkeypatch):
    package = tmp_path / "affdist_core"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "top.py").write_text('"""Top."""\n\ndef f():\n    from affdist_core.sub import leaf\n    return leaf.g()\n')
    (package / "sub" / "leaf.py").write_text('"""Leaf."""\n\ndef g():\n    """One."""\n    return 1  # comment\n')
    (package / "other.py").write_text("x = 1\n")
    monkeypatch.setattr(fingerprint, "_PACKAGE_ROOT", package)
    before = fingerprint.code_version(["affdist_core.top"])
    assert set(before) == {"affdist_core.top", "affdist_core.sub.leaf"}  # function-level import followed
    (package / "sub" / "leaf.py").write_text('"""Leaf, reworded."""\n\ndef g():\n    return 1\n')
    assert fingerprint.code_version(["affdist_core.top"]) == before
    (package / "sub" / "leaf.py").write_text('"""Leaf."""\n\ndef g():\n    return 2\n')
    after = fingerprint.code_version(["affdist_core.top"])
    assert after["affdist_core.sub.leaf"] != before["affdist_core.sub.leaf"]
    assert after["affdist_core.top"] == before["affdist_core.top"]
    with pytest.raises(ValueError, match="expected modules of affdist_core"):
        fingerprint.code_version(["affdist_core.missing"])


# --- the demo's stage list -----------------------------------------------------------------------------------


def _tiny_library() -> InVitroLibrary:
    seqs = ["ACGTACGTAC", "GCACGTGCAA", "TTTTCACGTG"]
    frame = pd.DataFrame({"id": seqs, "sequence": seqs, "value": [0.1, -0.5, 0.3]})
    frame["category"] = pd.Series(np.full(3, np.nan, dtype=object), dtype="str")
    return InVitroLibrary(name="tiny", frame=frame, source="test", units="RT")


class FakeDemo:
    """The demo's real stage list with every run function replaced by one that writes the stage's outputs."""

    def __init__(self, root: Path):
        self.root = root
        self.ran: list[str] = []

    def run(self, *, train_seed: int = 0, n_models: int = 2, n_backgrounds: int | None = None,
            force: bool = False) -> list[str]:
        from affdist_core.pipeline.demo import QUICK_CHROMS
        from affdist_core.pipeline.demo_stages import DemoPlan, demo_stages
        from affdist_core.pipeline.method_stages import method_settings
        from affdist_core.simulate.config import resolve_config

        config = resolve_config({"chroms": QUICK_CHROMS}, preset="pho4-yeast")
        plan = DemoPlan(self.root, config, _tiny_library(),
                        method_settings(True, False, None, n_backgrounds, n_models), True, train_seed)
        self.ran = []
        stages = [dataclasses.replace(s, run=self._writer(s)) for s in demo_stages(plan)]
        run_stages(stages, self.root, force=force)
        return self.ran

    def _writer(self, stage: Stage):
        def run():
            for output in stage.outputs:
                (self.root / output).parent.mkdir(parents=True, exist_ok=True)
                (self.root / output).write_text(stage.name)
            self.ran.append(stage.name)
        return run


AFTER_TRAINING = ["train", "evaluate", "interpret", "train_members", "interpret_members", "marginalize", "baselines",
                  "compare", "analyses"]


def test_demo_changed_training_default_reruns_the_model_and_everything_after_it(tmp_path, monkeypatch):
    from affdist_core.model import params

    demo = FakeDemo(tmp_path)
    assert demo.run() == ["simulate"] + AFTER_TRAINING
    assert demo.run() == []
    monkeypatch.setattr(params, "YEAST_COMPACT_PARAMS", dataclasses.replace(params.YEAST_COMPACT_PARAMS, lr=0.001))
    assert demo.run() == AFTER_TRAINING  # the simulation does not depend on the model
    assert demo.run() == []


def test_demo_reruns_exactly_the_stages_a_parameter_reaches(tmp_path):
    demo = FakeDemo(tmp_path)
    demo.run()
    # N backgrounds: distillation and what reads its scores; the models, the motifs and the simulation stay
    assert demo.run(n_backgrounds=3) == ["marginalize", "compare", "analyses"]
    # another primary seed: the members' seeds follow it, so both trainings and everything after rerun
    assert demo.run(n_backgrounds=3, train_seed=4) == AFTER_TRAINING
    assert demo.run(n_backgrounds=3, train_seed=4, force=True) == ["simulate"] + AFTER_TRAINING


def test_deciding_which_stages_to_skip_loads_no_tensorflow(tmp_path):
    """Fingerprinting every stage of the real demo (all a rerun does for a stage it skips) imports neither Keras nor
    TensorFlow, so rerunning a finished demo does not pay their import."""
    code = textwrap.dedent(f"""
        import sys
        from affdist_core.pipeline.demo import demo_plan
        from affdist_core.pipeline.demo_stages import demo_stages
        from affdist_core.pipeline.stage import fingerprint_parts

        stamps = {{}}
        for stage in demo_stages(demo_plan({str(tmp_path)!r}, quick=True)):
            fingerprint_parts(stage, stamps)
            stamps[stage.name] = "stamp"
        loaded = sorted(m for m in ("keras", "tensorflow", "shap") if m in sys.modules)
        assert not loaded, f"loaded while fingerprinting the stages: {{loaded}}"
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
