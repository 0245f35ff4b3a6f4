"""The ``affdist`` command line: one subcommand per pipeline stage.

Each subcommand parses its arguments, calls one library function and prints its result (the console tables
live in :mod:`affdist_core.compare.format`); no logic lives here, and nothing in ``affdist_core`` imports this
module.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("affdist")

DEFAULT_RUN_DIR = Path("runs/default")
LOCAL_ADDRESS = "127.0.0.1"  # `affdist app` listens on this machine only unless --address says otherwise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``affdist`` console script; returns the process exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else (logging.DEBUG if args.verbose else logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as err:
        log.error("%s", err)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted; completed outputs are intact, partial ones were not written")
        return 130


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="affdist",
        description="Affinity Distillation: distill TF binding ΔΔG from BPNet models of ChIP-nexus data.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True)

    genome = sub.add_parser("genome", help="build the S. cerevisiae S288C R64 genome (FASTA, sizes, genes)")
    genome.add_argument("--out", type=Path, default=None, help="output directory (default: the shared cache)")
    genome.add_argument("--chroms", default=None, help="comma-separated subset, e.g. chrI,chrIII")
    genome.set_defaults(func=_cmd_genome)

    simulate = sub.add_parser("simulate", help="simulate a ChIP-nexus experiment (bigWigs, peaks, truth)")
    simulate.add_argument("--config", type=Path, help="JSON config, merged over the preset (or the defaults)")
    simulate.add_argument("--preset", help="built-in preset, e.g. pho4-yeast")
    simulate.add_argument("--out", type=Path, required=True, help="output directory")
    simulate.add_argument("--chroms", default=None, help="comma-separated subset, e.g. chrI,chrIII")
    simulate.add_argument("--seed", type=int, default=None, help="override the config's seed")
    simulate.set_defaults(func=_cmd_simulate)

    library = sub.add_parser("library", help="validate an in-vitro library table and summarise it")
    library.add_argument("path", help="CSV/TSV/Parquet file, or a built-in name (betseq_pho4)")
    library.add_argument("--sequence-col", default="sequence")
    library.add_argument("--value-col", default="value")
    library.add_argument("--category-col", default=None)
    library.add_argument("--id-col", default=None)
    library.add_argument("--on-duplicate", choices=["warn", "error", "mean"], default="warn")
    library.set_defaults(func=_cmd_library)

    bam2bw = sub.add_parser("bam2bw", help="ChIP-nexus/exo read 5′-end counts per strand from BAM files → 2 bigWigs")
    bam2bw.add_argument("bams", nargs="+", type=Path, metavar="BAM", help="BAM (or SAM) files; several are summed")
    bam2bw.add_argument("--genome", required=True, type=Path,
                        help="the FASTA the reads were aligned to, or its chrom sizes file (name<TAB>length)")
    bam2bw.add_argument("--out-prefix", required=True,
                        help="writes PREFIX.plus.bw and PREFIX.minus.bw (e.g. runs/pho4/pho4)")
    bam2bw.add_argument("--min-mapq", type=int, default=0, help="skip reads of lower mapping quality (default 0)")
    bam2bw.add_argument("--keep-duplicates", action="store_true",
                        help="count reads flagged as duplicates (0x400) too (default: drop them)")
    bam2bw.set_defaults(func=_cmd_bam2bw)

    train = sub.add_parser("train", help="train a BPNet on strand bigWigs + peaks")
    train.add_argument("--params", required=True,
                       help="BPNet params JSON (the seed's keys) or a preset: yeast-compact, seed-max")
    train.add_argument("--data", required=True, type=Path,
                       help="data spec JSON (genome_fasta, plus_bigwig, minus_bigwig, peaks, split, ...)")
    train.add_argument("--out", required=True, type=Path, help="model directory")
    train.add_argument("--epochs", type=int, default=200, help="maximum epochs (default 200)")
    train.add_argument("--patience", type=int, default=15, help="early-stopping patience in epochs (default 15)")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--max-minutes", type=float, default=None,
                       help="optional wall-time guard: stops after the epoch that crosses it and warns that the "
                            "model then depends on the machine's speed (default: none; stopping uses epochs and "
                            "patience only)")
    train.add_argument("--no-xla", action="store_true", help="do not XLA-compile the training step")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=_cmd_train)

    evaluate = sub.add_parser("evaluate", help="per-split counts and profile metrics of a trained model")
    evaluate.add_argument("--model", required=True, type=Path, help="model directory written by affdist train")
    evaluate.add_argument("--data", type=Path, default=None, help="data spec (default: the one saved with the model)")
    evaluate.set_defaults(func=_cmd_evaluate)

    interpret = sub.add_parser("interpret", help="DeepSHAP contributions on held-out peaks + TF-MoDISco motifs")
    interpret.add_argument("--model", required=True, type=Path, help="model directory written by affdist train")
    interpret.add_argument("--shuffles", type=int, default=20, help="dinucleotide-shuffled references (default 20)")
    interpret.add_argument("--max-peaks", type=int, default=None, help="keep the strongest N held-out peaks")
    interpret.add_argument("--seed", type=int, default=0)
    interpret.set_defaults(func=_cmd_interpret)

    marg = sub.add_parser("marginalize", help="Affinity Distillation scores (mean Δ log counts over backgrounds)")
    marg.add_argument("--model", required=True, type=Path,
                      help="model directory written by affdist train (with an ensemble.json, as affdist demo "
                           "writes, the score is the mean of its models)")
    marg.add_argument("--primary-only", action="store_true",
                      help="score with the model directory's own model even if it lists ensemble members")
    what = marg.add_mutually_exclusive_group(required=True)
    what.add_argument("--library", help="library file or built-in name (betseq_pho4): scores its rows")
    what.add_argument("--sequence", action="append", help="a query sequence (repeatable)")
    marg.add_argument("--n", type=int, default=None, help="score a fixed random subset of N library rows")
    marg.add_argument("--backgrounds", type=int, default=100, help="N backgrounds (default 100)")
    marg.add_argument("--seed", type=int, default=0, help="seed of backgrounds and subset (default 0)")
    marg.add_argument("--batch-size", type=int, default=512)
    marg.add_argument("--out", type=Path, default=None,
                      help="output directory for scores.parquet (resumable; required with --library)")
    marg.set_defaults(func=_cmd_marginalize)

    cal = sub.add_parser("calibrate", help="fit measured ≈ slope × score + intercept on a sample; held-out metrics")
    cal.add_argument("--scores", required=True, type=Path, help="Parquet/CSV with columns id and score")
    cal.add_argument("--library", required=True, help="library file or built-in name with the measured values")
    size = cal.add_mutually_exclusive_group()
    size.add_argument("--n", type=int, default=None, help="calibration rows (default min(1000, 10%%))")
    size.add_argument("--fraction", type=float, default=None, help="calibration fraction of the scored rows")
    size.add_argument("--ids", type=Path, default=None, help="file of calibration ids, one per line")
    cal.add_argument("--seed", type=int, default=0)
    cal.add_argument("--out", required=True, type=Path, help="output directory (fit.json, predictions.parquet)")
    cal.set_defaults(func=_cmd_calibrate)

    demo = sub.add_parser("demo", help="the main job on the embedded default (yeast Pho4)")
    demo.add_argument("--out", type=Path, default=DEFAULT_RUN_DIR, help=f"run directory (default {DEFAULT_RUN_DIR})")
    demo.add_argument("--quick", action="store_true", help="small smoke-test run (chrI-chrIII only)")
    demo.add_argument("--force", action="store_true", help="redo stages whose outputs already exist")
    demo.add_argument("--catalog", type=Path, default=Path("data_catalog/affdist.duckdb"),
                      help="DuckDB catalog to fill (default data_catalog/affdist.duckdb)")
    demo.add_argument("--full", action="store_true",
                      help="score every library row (1,048,576 for BET-seq), N = 5 unless --backgrounds is given")
    demo.add_argument("--n-scored", type=int, default=None, help="library rows to score (default 20,000)")
    demo.add_argument("--backgrounds", type=int, default=None,
                      help="N backgrounds per model and score (default 10; --quick and --full 5)")
    demo.add_argument("--train-seed", type=int, default=0,
                      help="seed of the primary model's initialisation and batch order (default 0); ensemble "
                           "members use the next seeds")
    demo.add_argument("--models", type=int, default=None,
                      help="BPNets averaged by Affinity Distillation (default 3, --quick 1); single models differ "
                           "by seed, see the README")
    demo.add_argument("--workers", type=int, default=0,
                      help="distill the library on a local Dask cluster of this many processes (default: in this "
                           "process)")
    demo.add_argument("--scheduler", default=None,
                      help="distill on the Dask cluster at this scheduler address (tcp://host:8786)")
    demo.add_argument("--tf", default=None, help="TF name (default Pho4)")
    demo.add_argument("--library", default=None,
                      help="in-vitro library: built-in name or CSV/TSV/Parquet with sequence,value (default "
                           "betseq_pho4); the simulator uses it as the TF's energy model")
    demo.add_argument("--value-col", default=None, help="measured-value column of a library file (default value)")
    demo.add_argument("--sequence-col", default=None, help="sequence column of a library file (default sequence)")
    demo.add_argument("--core", default=None, help="core motif the library shares (default CACGTG)")
    demo.add_argument("--jaspar", default=None, help="JASPAR matrix id of the TF (default MA0357.1)")
    demo.add_argument("--app", action="store_true", help="then serve the explorer app on the catalog (blocks)")
    demo.add_argument("--port", type=int, default=8501, help="app port with --app (default 8501)")
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser("run", help="every stage for every experiment × library of a project file (TOML), "
                                     "into one catalog")
    run.add_argument("project", help="project file (.toml; see docs/project_file.md), or 'default' for the "
                                     "built-in default project (the demo's run)")
    run.add_argument("--out", type=Path, default=None,
                     help="folder of the run directories (default: the project's [output] dir)")
    run.add_argument("--catalog", type=Path, default=None,
                     help="DuckDB catalog (default: the project's [output] catalog)")
    run.add_argument("--dry-run", action="store_true",
                     help="validate and print the plan (each stage run or skip, and why); compute nothing")
    run.add_argument("--force", action="store_true", help="rerun every stage")
    run.set_defaults(func=_cmd_run)

    bench = sub.add_parser("benchmark", help="the fixed pipeline over a panel of simulated worlds × seeds "
                                             "(benchmarks/panel.toml), one catalog, a table per world")
    bench.add_argument("panel", type=Path, help="panel file (.toml; see affdist_core/pipeline/benchmark.py)")
    bench.add_argument("--world", action="append", default=None,
                       help="run only this world (repeatable); the tables cover every finished run")
    bench.add_argument("--seed", action="append", type=int, default=None,
                       help="run only this simulation seed (repeatable); the tables cover every finished run")
    bench.add_argument("--dry-run", action="store_true", help="validate and print every run's plan")
    bench.add_argument("--table", action="store_true",
                       help="run nothing: rebuild panel.json/panel.md and the catalog record from the finished "
                            "runs and the reports kept in the panel's results folder")
    bench.set_defaults(func=_cmd_benchmark)

    app = sub.add_parser("app", help="serve the explorer app (Streamlit) on a catalog")
    app.add_argument("--catalog", type=Path, default=Path("data_catalog/affdist.duckdb"),
                     help="DuckDB catalog to show (default data_catalog/affdist.duckdb)")
    app.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    app.add_argument("--address", default=LOCAL_ADDRESS,
                     help=f"address to listen on (default {LOCAL_ADDRESS}: this machine only; 0.0.0.0: every "
                          "interface)")
    app.set_defaults(func=_cmd_app)
    return parser


def _chrom_list(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def _cmd_genome(args: argparse.Namespace) -> int:
    from affdist_core.io.genome import build_yeast_genome, default_genome_cache

    files = build_yeast_genome(args.out or default_genome_cache(), _chrom_list(args.chroms))
    print(f"genome: {files.fasta}\nindex: {files.fai}\nsizes: {files.sizes}\nannotation: {files.annotation}")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from affdist_core.simulate.config import load_config_file, resolve_config
    from affdist_core.simulate.run import simulate
    from affdist_core.simulate.summary import format_summary

    user = load_config_file(args.config) if args.config else {}
    if args.chroms:
        user["chroms"] = args.chroms
    if args.seed is not None:
        user["seed"] = args.seed
    config = resolve_config(user, preset=args.preset)
    outputs = simulate(config, args.out)
    print(format_summary(json.loads(outputs.summary_json.read_text())["summary"]))
    return 0


def _cmd_library(args: argparse.Namespace) -> int:
    from affdist_core.compare.format import format_library
    from affdist_core.io.library import builtin_libraries, load_library, resolve_library

    if args.path in builtin_libraries():
        library = resolve_library(args.path)
    else:
        library = load_library(args.path, sequence_col=args.sequence_col, value_col=args.value_col,
                               category_col=args.category_col, id_col=args.id_col,
                               on_duplicate=args.on_duplicate)
    print(format_library(library))
    return 0


def _cmd_bam2bw(args: argparse.Namespace) -> int:
    from affdist_core.io.bam import bam_to_bigwigs, strand_bigwig_paths
    from affdist_core.io.genome import genome_chrom_sizes

    plus, minus = strand_bigwig_paths(args.out_prefix)
    summary = bam_to_bigwigs(args.bams, genome_chrom_sizes(args.genome), plus, minus,
                             min_mapq=args.min_mapq, keep_duplicates=args.keep_duplicates)
    print(summary.describe())
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from affdist_core.common.names import ModelDir
    from affdist_core.model.params import PARAM_PRESETS, TrainingSettings, load_params
    from affdist_core.model.train import train_bpnet
    from affdist_core.model.data_spec import load_data_spec

    params = PARAM_PRESETS[args.params] if args.params in PARAM_PRESETS else load_params(Path(args.params))
    settings = TrainingSettings(batch_size=args.batch_size, max_epochs=args.epochs, patience=args.patience,
                                max_minutes=args.max_minutes, jit_compile=not args.no_xla, seed=args.seed)
    result = train_bpnet(params, load_data_spec(args.data), args.out, settings)
    print(f"model: {ModelDir(result.model_dir).model} ({result.epochs_run} epochs, best {result.best_epoch}, "
          f"{result.stop_reason}, {result.wall_s:.0f} s)")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from affdist_core.compare.format import format_metrics
    from affdist_core.model.evaluate import evaluate_model_dir
    from affdist_core.model.data_spec import load_data_spec

    evaluation = evaluate_model_dir(args.model, load_data_spec(args.data) if args.data else None)
    print(format_metrics(evaluation.metrics))
    return 0


def _cmd_interpret(args: argparse.Namespace) -> int:
    from affdist_core.compare.format import format_motifs
    from affdist_core.interpret.run import interpret_model_dir

    summary = interpret_model_dir(args.model, n_shuffles=args.shuffles, max_peaks=args.max_peaks,
                                  random_state=args.seed)
    print(format_motifs(summary))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from affdist_core.pipeline.demo import format_demo, run_demo

    run_demo(args.out, quick=args.quick, force=args.force, catalog_path=args.catalog, full=args.full, tf=args.tf,
             library=args.library, core=args.core, jaspar=args.jaspar, n_scored=args.n_scored,
             n_backgrounds=args.backgrounds, value_col=args.value_col, sequence_col=args.sequence_col,
             train_seed=args.train_seed, n_models=args.models, workers=args.workers, scheduler=args.scheduler)
    print(format_demo(args.out))
    if args.app:
        return serve_app(args.catalog, args.port)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from affdist_core.pipeline.project import ProjectError, default_project_path
    from affdist_core.pipeline.run import run_project

    overrides: dict = {}
    project = args.project
    if project == "default":
        project = default_project_path()
        overrides["output"] = {"dir": str(Path("runs").resolve()), "catalog": str(Path(
            "data_catalog/affdist.duckdb").resolve())}
    if args.catalog is not None:
        overrides.setdefault("output", {})["catalog"] = str(args.catalog.resolve())
    try:
        result = run_project(project, args.out, dry_run=args.dry_run, force=args.force, overrides=overrides)
    except ProjectError as err:
        print(str(err), file=sys.stderr)
        return 2
    if args.dry_run:
        print(result["plan"])
        return 0
    from affdist_core.compare.format import format_comparison

    for run_id, report in result["reports"].items():
        print(f"\n{run_id} ({report['n_scored']:,} rows scored, held-out metrics):")
        print(format_comparison(report["methods"], report["units"]))
    print(f"\ncatalog: {result['catalog']} (affdist app --catalog {result['catalog']})")
    return 0


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from affdist_core.pipeline.benchmark import run_panel
    from affdist_core.pipeline.project import ProjectError

    try:
        result = run_panel(args.panel, dry_run=args.dry_run, worlds=args.world, seeds=args.seed,
                           table_only=args.table)
    except ProjectError as err:
        print(str(err), file=sys.stderr)
        return 2
    print(result["plan"] if args.dry_run else result["paths"][1].read_text())
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    return serve_app(args.catalog, args.port, args.address)


def serve_app(catalog: Path, port: int = 8501, address: str = LOCAL_ADDRESS) -> int:
    """Run ``streamlit run app/main.py`` on ``catalog`` until interrupted, listening on ``address`` (default this
    machine only); returns its exit code. Streamlit runs in the repository root, so it reads the app's
    ``.streamlit/config.toml`` (no usage statistics, no Deploy button)."""
    import subprocess

    catalog = Path(catalog).resolve()
    if not catalog.exists():
        raise ValueError(f"catalog: {catalog} does not exist; build it with `affdist demo` (or pass --catalog)")
    repo_root = Path(__file__).resolve().parents[1]  # the app is not imported: the core never depends on it
    entry = repo_root / "app" / "main.py"
    if not entry.is_file():
        raise ValueError(f"app: expected the explorer at {entry}, found none; it ships with the repository "
                         "(install it with `pip install -e .` from a clone)")
    command = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.headless", "true",
               "--server.port", str(port), "--server.address", address, "--", "--catalog", str(catalog)]
    log.info("explorer app on %s: open http://%s:%d (Ctrl-C stops it)", catalog,
             "localhost" if address == LOCAL_ADDRESS else address, port)
    return subprocess.call(command, cwd=repo_root)


def _cmd_marginalize(args: argparse.Namespace) -> int:
    from affdist_core.common.names import SCORES_FILE
    from affdist_core.marginalize.score_command import score_library, score_sequences

    options = dict(n_backgrounds=args.backgrounds, seed=args.seed, batch_size=args.batch_size,
                   primary_only=args.primary_only)
    if args.sequence:
        result = score_sequences(args.model, args.sequence, **options)
        for seq, mean, sd in zip(result.sequences, result.mean, result.sd):
            print(f"{seq}\tscore {mean:.5f}\tsd {sd:.5f}\tN {result.n_backgrounds}")
        return 0
    scores = score_library(args.model, args.library, args.out, n=args.n, **options)
    print(f"{len(scores):,} scores (N = {args.backgrounds}) in {args.out / SCORES_FILE}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from affdist_core.calibrate.score_file import calibrate_score_file

    fit = calibrate_score_file(args.scores, args.library, args.out, n=args.n, fraction=args.fraction,
                               ids_path=args.ids, seed=args.seed)
    print(f"calibrated on {fit.n_calibration:,} rows: slope {fit.slope:.5g}, intercept {fit.intercept:.5g}, "
          f"R² {fit.r2:.3f}; held-out ({fit.n_heldout:,} rows): Pearson {fit.pearson:.3f}, "
          f"Spearman {fit.spearman:.3f}, RMSE {fit.rmse:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
