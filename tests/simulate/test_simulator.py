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
