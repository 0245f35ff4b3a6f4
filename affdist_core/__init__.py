"""Affinity Distillation: ΔΔG distilled from base-resolution models of in-vivo TF binding.

The subpackages follow the method, and :data:`PACKAGE_ORDER` is their dependency order: a module may import
only from its own package or from packages earlier in the order — function-level imports included — so the
tree has no back-edges and no import cycles. ``cli`` (``cli.py`` and ``__main__.py``) comes last and may import
anything; the app (``app/``, ``pages/``) may import anything in ``affdist_core`` but ``affdist_core`` never
imports the app. The packages in :data:`KERAS_FREE_PACKAGES` never import Keras, TensorFlow or SHAP, neither
directly nor through a module that loads them when imported; only ``model``, ``interpret`` and ``marginalize``
do (``pipeline`` and ``cli`` reach them lazily). ``tests/test_import_order.py`` enforces all of this.
"""

__version__ = "0.1.0"

PACKAGE_ORDER: tuple[str, ...] = (
    "common",       # atomic writes, random states, input checks, metrics, file and directory names
    "seq",          # the alphabet and one-hot code, k-mer packing, shuffles, the insertion rule, motif records
    "io",           # FASTA, bigWig, peaks, genomes, in-vitro libraries, motif files
    "calibrate",    # calibration of scores against in-vitro measurements
    "simulate",     # the simulator that stands in for nature
    "model",        # BPNet: parameters, inputs, data, training, evaluation, ensembles
    "interpret",    # DeepSHAP contributions, TF-MoDISco motifs, contribution tracks
    "marginalize",  # Affinity Distillation: backgrounds, the marginalizer, distillation, variants
    "baselines",    # motif baselines: PWM scoring, STREME, Weeder
    "compare",      # comparison of every method, analyses, the report
    "catalog",      # the DuckDB catalog
    "pipeline",     # stages and the demo run
    "cli",          # the command line (cli.py, __main__.py)
)
"""Dependency order of the subpackages: each may import only from itself and those before it."""

KERAS_FREE_PACKAGES: tuple[str, ...] = (
    "common", "seq", "io", "calibrate", "simulate", "baselines", "compare", "catalog",
)
"""Packages that must never load Keras, TensorFlow or SHAP (directly or through an imported module)."""
