"""The ChIP-nexus simulator: determinism, realism of its outputs, any TF's energy model, atomic outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from affdist_core.io.bigwig import BigWigReader
from affdist_core.io.peaks import read_peaks
from affdist_core.simulate.run import SimulationOutputs, simulate
from affdist_core.simulate.config import resolve_config


def _summary(out_dir):
    return json.loads(SimulationOutputs.in_directory(out_dir).summary_json.read_text())


def test_outputs_exist_and_look_like_chip_nexus(sim_chrI):
    out = SimulationOutputs.in_directory(sim_chrI)
    for path in (out.genome_fasta, out.chrom_sizes, out.annotation, out.plus_bigwig, out.minus_bigwig, out.peaks,
                 out.sites, out.summary_json):
        assert path.exists(), path
    summary = _summary(sim_chrI)["summary"]
    assert summary["chromosomes"] == ["chrI"]
    # depth scales with the simulated fraction of the 12.07 Mb genome: 10M × 230,218 / 12,071,326
    assert summary["total_reads"] == pytest.approx(10_000_000 * 230_218 / 12_071_326, rel=0.01)
    assert summary["peaks"] > 5
    assert 0.02 < summary["frip"] < 0.6
    assert summary["canonical_core_sites"] == 26  # exact CACGTG on chrI
    profile = summary["footprint_profile"]
    assert -16 <= profile["plus_peak_offset"] <= -6  # + strand 5′ ends upstream of the site
    assert 6 <= profile["minus_peak_offset"] <= 16  # − strand 5′ ends downstream
    assert summary["invivo_vs_invitro"]["expected_spearman"] > 0.1


def test_strongest_peaks_sit_on_bound_sites(sim_chrI):
    out = SimulationOutputs.in_directory(sim_chrI)
    peaks = read_peaks(out.peaks)
    sites = pd.read_parquet(out.sites)
    strong = sites.nlargest(3, "expected_reads")
    for site in strong.itertuples():
        distance = (peaks["summit"] - site.center).abs().min()
        assert distance <= 10, f"no peak summit within 10 bp of a strong site at {site.center}"
    assert sites["occupancy"].between(0, 1).all()
    assert set(sites["region"].astype(str)) <= {"intergenic", "promoter", "orf"}


def test_bigwigs_hold_integer_counts_matching_the_summary(sim_chrI):
    out = SimulationOutputs.in_directory(sim_chrI)
    total = 0.0
    for path in (out.plus_bigwig, out.minus_bigwig):
        with BigWigReader(path) as bw:
            values = bw.chrom_values("chrI")
        assert np.all(values == np.round(values)) and values.min() >= 0
        total += values.sum()
    assert total == _summary(sim_chrI)["summary"]["total_reads"]


def test_same_seed_same_output_and_different_seed_differs(tmp_path, sim_chrI):
    config = resolve_config({"chroms": ["chrI"]}, preset="pho4-yeast")
    again = simulate(config, tmp_path / "again")
    other = simulate(resolve_config({"chroms": ["chrI"], "seed": 1}, preset="pho4-yeast"), tmp_path / "other")
    first = SimulationOutputs.in_directory(sim_chrI)
    assert again.peaks.read_bytes() == first.peaks.read_bytes()
    assert again.plus_bigwig.read_bytes() == first.plus_bigwig.read_bytes()
    assert other.plus_bigwig.read_bytes() != first.plus_bigwig.read_bytes()


def test_any_tf_landscape_on_a_user_genome(tmp_path, mini_genome_fasta):
    """A non-palindromic core, a small additive flank library in a CSV, a user FASTA without annotation."""
    rng = np.random.default_rng(0)
    flanks = ["".join(rng.choice(list("ACGT"), 6)) for _ in range(300)]
    library = pd.DataFrame({"seq": [f[:3] + "GATAAG" + f[3:] for f in flanks],
                            "ddG": [0.5 * f.count("A") - 0.3 * f.count("G") for f in flanks]})
    library = library.drop_duplicates("seq")
    library.to_csv(tmp_path / "gata.csv", index=False)
    config = resolve_config({
        "tf": "GATA-like", "genome_fasta": str(mini_genome_fasta), "library": str(tmp_path / "gata.csv"),
        "library_sequence_col": "seq", "library_value_col": "ddG", "core": "GATAAG",
        "reads": {"depth": 200_000, "signal_fraction": 0.3},
    })
    out = simulate(config, tmp_path / "gata")
    summary = _summary(out.directory)
    assert summary["energy_model"]["palindromic"] is False
    sites = pd.read_parquet(out.sites)
    canonical = sites[sites["core_mismatches"] == 0]
    assert len(canonical) > 0
    # each truth sequence reads the core on its own strand
    assert canonical["sequence"].str[3:9].eq("GATAAG").all()
    assert set(canonical["strand"]) <= {"+", "-"}
    assert not out.annotation.exists()  # no annotation given: every base is intergenic
    assert set(sites["region"].astype(str)) == {"intergenic"}


def test_failed_run_leaves_no_partial_outputs(tmp_path, monkeypatch):
    import affdist_core.simulate.run as sim

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sim, "write_parquet", broken)
    with pytest.raises(OSError):
        simulate(resolve_config({"chroms": ["chrI"]}, preset="pho4-yeast"), tmp_path / "broken")
    out = SimulationOutputs.in_directory(tmp_path / "broken")
    assert not out.complete()  # simulation.json is written last
    assert not [p for p in out.directory.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize(
    "override, message",
    [
        ({"colour": 1}, "unknown key 'colour'"),
        ({"reads": {"depht": 5}}, "unknown key 'reads.depht'"),
        ({"reads": {"signal_fraction": 1.5}}, r"reads.signal_fraction=1.5 is outside"),
        ({"energy": {"temperature_c": "warm"}}, "energy.temperature_c must be a number"),
        ({"core": "CANNTG"}, "core must be a non-empty A/C/G/T string"),
        ({"chroms": 5}, "chroms must be null"),
    ],
)
def test_bad_config_values_are_named(override, message):
    with pytest.raises(ValueError, match=message):
        resolve_config(override)


def test_unknown_preset_and_chromosome(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        resolve_config(preset="nope")
    with pytest.raises(ValueError, match=r"chroms: \['chrZ'\] not in the genome"):
        simulate(resolve_config({"chroms": "chrZ"}, preset="pho4-yeast"), tmp_path / "z")


def test_control_track_follows_accessibility_and_leaves_chip_reads_alone(tmp_path, sim_chrI):
    """The accessibility-assay control: ~depth reads, more in open chromatin; depth 0 writes none and the
    ChIP-nexus reads do not depend on it (separate random stream)."""
    from scipy.stats import spearmanr

    out = SimulationOutputs.in_directory(sim_chrI)
    assert out.has_control()
    config = _summary(sim_chrI)["config"]
    with BigWigReader(out.control_plus_bigwig) as plus, BigWigReader(out.control_minus_bigwig) as minus:
        control = plus.chrom_values("chrI") + minus.chrom_values("chrI")
    assert np.all(control == np.round(control))
    # chrI alone: the depth is scaled to its share of the genome, like the ChIP reads
    chip_total = _summary(sim_chrI)["summary"]["total_reads"]
    assert 0.2 * chip_total < control.sum() < 2 * chip_total
    sites = pd.read_parquet(out.sites)
    centres = sites["position"].to_numpy() + 8
    window = np.array([control[max(c - 150, 0):c + 150].sum() for c in centres])
    assert spearmanr(window, sites["accessibility"]).statistic > 0.5

    no_control = simulate(resolve_config({"chroms": ["chrI"], "control": {"depth": 0}}, preset="pho4-yeast"),
                          tmp_path / "no_control")
    assert not no_control.has_control()
    assert no_control.plus_bigwig.read_bytes() == out.plus_bigwig.read_bytes()
    assert config["control"]["depth"] > 0


def _control_near_sites(out_dir, half: int = 75) -> tuple[np.ndarray, np.ndarray]:
    """(control reads within ``half`` bp of each truth site's centre, the site's true accessibility)."""
    out = SimulationOutputs.in_directory(out_dir)
    sites = pd.read_parquet(out.sites)
    with BigWigReader(out.control_plus_bigwig) as plus, BigWigReader(out.control_minus_bigwig) as minus:
        both = plus.chrom_values("chrI") + minus.chrom_values("chrI")
    csum = np.r_[0, np.cumsum(both, dtype=np.float64)]
    centre = sites["center"].to_numpy()
    lo, hi = np.clip(centre - half, 0, len(both)), np.clip(centre + half, 0, len(both))
    return csum[hi] - csum[lo], sites["accessibility"].to_numpy()


def test_a_noisy_control_measures_accessibility_worse(tmp_path, sim_chrI):
    """control.noise_sd > 0: an assay with its own error, correlating less with the true accessibility than the
    default control (which reads it exactly, with Poisson noise only); its own GC bias changes it too."""
    from scipy.stats import spearmanr

    noisy = simulate(resolve_config({"chroms": ["chrI"], "control": {"noise_sd": 3.0, "gc_optimum": 0.4}},
                                    preset="pho4-yeast"), tmp_path / "noisy").directory
    exact_r = spearmanr(*_control_near_sites(sim_chrI))[0]
    noisy_r = spearmanr(*_control_near_sites(noisy))[0]
    assert exact_r > 0.8 and noisy_r < exact_r - 0.2, (exact_r, noisy_r)  # measured: 0.88 vs about 0.5
    # the ChIP reads are the same world: only the control changed
    first, second = SimulationOutputs.in_directory(sim_chrI), SimulationOutputs.in_directory(noisy)
    assert first.plus_bigwig.read_bytes() == second.plus_bigwig.read_bytes()


@pytest.mark.parametrize(("override", "message"), [
    ({"accessibility": {"mechanism": "cpg"}}, "accessibility.mechanism must be one of at_tracts, gc, none"),
    ({"accessibility": {"tract_weight": 1.5}}, "accessibility.tract_weight=1.5 is outside"),
    ({"control": {"gc_sd": -1}}, "control.gc_sd must be null"),
    ({"control": {"noise_sd": -0.1}}, "control.noise_sd=-0.1 is outside"),
])
def test_world_parameters_are_validated(override, message):
    with pytest.raises(ValueError, match=message):
        resolve_config(override, preset="pho4-yeast")


# ---- several TFs in the same cells (issue 26) -------------------------------------------------------------

def content_digest(out_dir) -> str:
    """sha256 over a simulation's contents: every strand and control bigWig's values, the peaks file and the
    truth sites table (values, not file bytes, so a writer's metadata cannot hide or fake a change)."""
    import hashlib

    out = SimulationOutputs.in_directory(out_dir)
    digest = hashlib.sha256()
    for path in (out.plus_bigwig, out.minus_bigwig, out.control_plus_bigwig, out.control_minus_bigwig):
        with BigWigReader(path) as bw:
            for chrom in sorted(bw.chrom_sizes):
                digest.update(np.ascontiguousarray(bw.chrom_values(chrom), dtype=np.float32).tobytes())
    digest.update(out.peaks.read_bytes())
    sites = pd.read_parquet(out.sites)
    digest.update(",".join(sites.columns).encode())
    digest.update(pd.util.hash_pandas_object(sites, index=False).to_numpy().tobytes())
    return digest.hexdigest()


# the pho4-yeast preset on chrI, seed 0, as the one-TF simulator wrote it before `other_tfs` existed (main at
# db870b2); a change here changes every simulated world
ONE_TF_CHRI_DIGEST = "2e2c2b849f0d0cda05a27731f1058ff0c4ce286a45e4571e0abdf48d6bbd3eda"

CBF1 = {"tf": "Cbf1", "library": "betseq_cbf1", "jaspar_id": "MA0281.2",
        "energy": {"chemical_potential_kcal": 0.5}, "reads": {"depth": 200_000}}


def test_one_tf_output_is_byte_identical_to_the_one_tf_simulator(sim_chrI):
    assert content_digest(sim_chrI) == ONE_TF_CHRI_DIGEST
    assert resolve_config({"other_tfs": []}, preset="pho4-yeast") == resolve_config(preset="pho4-yeast")
    assert "other_tfs" not in resolve_config(preset="pho4-yeast")


def _mini_world(mini_genome_fasta, **extra):
    return resolve_config({"genome_fasta": str(mini_genome_fasta), "reads": {"depth": 400_000},
                           "energy": {"chemical_potential_kcal": 0.5}, **extra}, preset="pho4-yeast")


def _weights(sites: pd.DataFrame, mu: float, kt: float) -> pd.Series:
    """Each window's Boltzmann weight w = exp((μ − ΔG)/kT) from a one-TF run's truth table, by (chrom, centre)."""
    return pd.Series(np.exp((mu - sites["dG_kcal"].to_numpy(np.float64)) / kt),
                     index=pd.MultiIndex.from_frame(sites[["chrom", "center"]]))


def test_a_site_taken_by_a_competitor_loses_reads_by_its_share(tmp_path, mini_genome_fasta):
    """Pho4 and Cbf1 in one cell: at every window θ_P = a w_P / (1 + w_P + w_C), each TF's weights being those
    of its one-TF run; a Pho4 site's expected reads fall by exactly (1 + w_P)/(1 + w_P + w_C) against Pho4
    alone (each bound molecule yields the same reads); the chromatin and the control are shared."""
    from affdist_core.simulate.run import experiment_outputs

    pho4_alone = simulate(_mini_world(mini_genome_fasta), tmp_path / "pho4")
    cbf1_alone = simulate(_mini_world(mini_genome_fasta, **{k: v for k, v in CBF1.items() if k != "reads"}),
                          tmp_path / "cbf1")
    both = simulate(_mini_world(mini_genome_fasta, other_tfs=[CBF1]), tmp_path / "both")
    kt = _summary(both.directory)["energy_model"]["kT_kcal"]
    alone = pd.read_parquet(pho4_alone.sites).set_index(["chrom", "center"])
    shared = pd.read_parquet(both.sites).set_index(["chrom", "center"])
    w_p = _weights(pd.read_parquet(pho4_alone.sites), 0.5, kt)  # _mini_world sets μ = 0.5 for Pho4 too
    w_c = _weights(pd.read_parquet(cbf1_alone.sites), 0.5, kt)
    canonical = alone.index[alone["core_mismatches"] == 0]
    assert len(canonical) >= 5
    w_c_here = w_c.reindex(canonical).fillna(0.0).to_numpy()
    assert (w_c_here > 1.0).any()  # Cbf1 does take some of these E-boxes
    kept = (1 + w_p[canonical].to_numpy()) / (1 + w_p[canonical].to_numpy() + w_c_here)
    a = alone.loc[canonical, "accessibility"].to_numpy()
    np.testing.assert_allclose(shared.loc[canonical, "occupancy"], a * w_p[canonical] / (1 + w_p[canonical] + w_c_here),
                               rtol=1e-4)
    np.testing.assert_allclose(shared.loc[canonical, "expected_reads"],
                               alone.loc[canonical, "expected_reads"].to_numpy() * kept, rtol=1e-4)
    np.testing.assert_allclose(shared.loc[canonical, "competitor_occupancy"],
                               a * w_c_here / (1 + w_p[canonical] + w_c_here), rtol=1e-4, atol=1e-7)
    # Cbf1's own experiment: in <out>/Cbf1/, its occupancy the mirror image, the same chromatin
    cbf1 = pd.read_parquet(experiment_outputs(both.directory, "Cbf1", "Pho4").sites).set_index(["chrom", "center"])
    np.testing.assert_allclose(cbf1.loc[canonical, "competitor_occupancy"], shared.loc[canonical, "occupancy"],
                               rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(cbf1.loc[canonical, "accessibility"], a)
    for name in ("control_plus_bigwig", "control_minus_bigwig"):  # one control for the cells
        assert getattr(both, name).read_bytes() == getattr(pho4_alone, name).read_bytes()
    # ... which Cbf1's directory links to: it reads as a complete one-TF simulation of Cbf1
    own = experiment_outputs(both.directory, "Cbf1", "Pho4")
    assert own.complete() and own.has_control() and own.control_plus_bigwig.is_symlink()
    assert own.genome_fasta.read_bytes() == both.genome_fasta.read_bytes()
    own_record = json.loads(own.summary_json.read_text())
    assert own_record["config"]["tf"] == "Cbf1" and own_record["config"]["library"] == "betseq_cbf1"
    assert "other_tfs" not in own_record["config"] and own_record["simulation"]["tfs"] == ["Pho4", "Cbf1"]
    record = _summary(both.directory)
    assert [t["tf"] for t in record["other_tfs"]] == ["Cbf1"]
    assert 0 < record["competition"]["Pho4"]["occupancy_kept"] < 1
    assert record["other_tfs"][0]["summary"]["total_reads"] == pytest.approx(
        0.5 * record["summary"]["total_reads"], rel=0.02)  # its own library depth (200,000 against 400,000)


def test_competition_shows_in_the_reads(tmp_path, mini_genome_fasta):
    """Not only the expectation: Pho4's sampled reads around the E-boxes Cbf1 takes most fall with a
    competitor, and the realised Pho4 signal is smaller while the depth is kept."""
    alone = simulate(_mini_world(mini_genome_fasta), tmp_path / "alone")
    both = simulate(_mini_world(mini_genome_fasta, other_tfs=[CBF1]), tmp_path / "both")
    a, b = pd.read_parquet(alone.sites), pd.read_parquet(both.sites)
    taken = b[(b["core_mismatches"] == 0) & (b["competitor_occupancy"] > b["occupancy"])]
    assert len(taken) >= 3
    assert b.loc[taken.index, "observed_reads"].sum() < 0.8 * a.loc[taken.index, "observed_reads"].sum()
    assert _summary(both.directory)["summary"]["total_reads"] == pytest.approx(
        _summary(alone.directory)["summary"]["total_reads"], rel=0.01)


@pytest.mark.parametrize(("others", "message"), [
    ({"tf": "Cbf1"}, "other_tfs must be a list of objects"),
    ([{"library": "betseq_cbf1"}], r"other_tfs\[0\].tf must name the TF"),
    ([{"tf": "pho4"}], r"other_tfs\[0\].tf 'pho4' is already a TF"),
    ([{"tf": "Cbf1", "accessibility": {"orf": 0.1}}], r"unknown key other_tfs\[0\].'accessibility'"),
    ([{"tf": "Cbf1", "energy": {"temperature_c": 20}}], r"unknown key other_tfs\[0\].energy.'temperature_c'"),
    ([{"tf": "Cbf1", "reads": {"signal_fraction": 2}}], r"reads.signal_fraction=2 is outside .*in other_tfs\[0\]"),
    ([{"tf": "C b"}], r"other_tfs\[0\].tf must name the TF"),
])
def test_other_tfs_are_validated(others, message):
    with pytest.raises(ValueError, match=message):
        resolve_config({"other_tfs": others}, preset="pho4-yeast")
