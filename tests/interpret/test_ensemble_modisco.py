"""Equal-budget MoDISco uses every member: the ensemble's motifs come from contributions averaged over all models."""

import numpy as np

from affdist_core.common.names import CONTRIBUTIONS_FILE, ModelDir
from affdist_core.interpret import run as interpret_run
from affdist_core.interpret.contributions import ContributionScores, save_contributions
from affdist_core.model.ensemble import write_ensemble
from affdist_core.seq.motif import Motif


def _scores(onehot: np.ndarray, value: float) -> ContributionScores:
    n = len(onehot)
    hyp = np.full(onehot.shape, value, np.float32)
    return ContributionScores(onehot=onehot, hypothetical=hyp, contrib=hyp * onehot, prediction=np.zeros(n),
                              delta=np.zeros(n), completeness_error=np.zeros(n), n_shuffles=2, random_state=0)


def test_ensemble_modisco_averages_every_members_contributions(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    onehot = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (6, 30))]
    primary = ModelDir(tmp_path / "model")
    members = [primary.member(1), primary.member(2)]
    for d in [primary.root, *members]:
        d.mkdir(parents=True, exist_ok=True)
        ModelDir(d).model.write_text("model")
    write_ensemble(primary.root, members)
    primary.interpret.mkdir()
    save_contributions(_scores(onehot, 1.0), primary.interpret / CONTRIBUTIONS_FILE)

    loaded, explained, given = [], [], {}
    value_of = {str(ModelDir(members[0]).model): 4.0, str(ModelDir(members[1]).model): 7.0}
    monkeypatch.setattr(interpret_run, "load_model", lambda path: loaded.append(str(path)) or str(path))
    monkeypatch.setattr(interpret_run, "deepshap_counts", lambda model, x, **kw: (
        explained.append((model, x.copy())), _scores(x, value_of[model]))[1])
    motif = Motif("modisco_pos_0", "modisco", np.full((4, 4), 0.25))
    monkeypatch.setattr(interpret_run, "discover_motifs", lambda x, h, **kw: (given.update(x=x, h=h), [motif])[1])

    summary = interpret_run.interpret_ensemble(primary.root, n_shuffles=2, modisco_window=None)
    assert sorted(loaded) == sorted(value_of)  # every other member is explained, once
    assert all(np.array_equal(x, onehot) for _, x in explained)  # on the primary's held-out windows
    np.testing.assert_allclose(given["h"], np.full(onehot.shape, (1.0 + 4.0 + 7.0) / 3))
    assert summary["members"] == [".", "members/seed_1", "members/seed_2"]
    assert (primary.interpret_ensemble / "motifs.parquet").is_file()
    # each member's contributions are kept, and the linear read-out reads all of them back in member order
    windows, hypothetical = interpret_run.held_out_contributions(primary.root)
    np.testing.assert_array_equal(windows, onehot)
    assert [float(h.mean()) for h in hypothetical] == [1.0, 4.0, 7.0]


def test_held_out_contributions_name_the_missing_stage(tmp_path):
    import pytest

    primary = ModelDir(tmp_path / "model")
    member = primary.member(1)
    for d in (primary.root, member):
        d.mkdir(parents=True, exist_ok=True)
        ModelDir(d).model.write_text("model")
    with pytest.raises(ValueError, match="run the interpret stage"):
        interpret_run.held_out_contributions(primary.root)
    onehot = np.eye(4, dtype=np.float32)[np.random.default_rng(1).integers(0, 4, (3, 20))]
    primary.interpret.mkdir()
    save_contributions(_scores(onehot, 1.0), primary.interpret / CONTRIBUTIONS_FILE)
    write_ensemble(primary.root, [member])
    with pytest.raises(ValueError, match="run the interpret_members stage"):
        interpret_run.held_out_contributions(primary.root)
    ModelDir(member).interpret.mkdir()
    save_contributions(_scores(onehot[:, ::-1].copy(), 2.0), ModelDir(member).interpret / CONTRIBUTIONS_FILE)
    with pytest.raises(ValueError, match="explains other windows"):
        interpret_run.held_out_contributions(primary.root)
