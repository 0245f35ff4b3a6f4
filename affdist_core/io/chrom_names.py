"""Chromosome names across a run's files: which disagree with the FASTA, how, and the fix.

A user's bigWigs, BAMs and peaks often name chromosomes differently from their FASTA: ``I`` (Ensembl) against
``chrI`` (UCSC), Arabic against Roman numerals (``chr1`` against ``chrI`` for yeast), ``chrMito`` or ``chrmt``
against ``chrM``, or names that differ only in case. :func:`chrom_name_problems` matches every name of a source
to the FASTA's in stages, least change first — the same name; the same after dropping a ``chr`` prefix and
case; the same mitochondrion; the same number in Roman or Arabic numerals — and reports each systematic
difference once, with a range (``chrI..chrXVI``) and a few renamings rather than thousands of names. Only
names left unmatched after a stage go on to the next one, so human ``chrX`` matches ``X`` (prefix) and never
chromosome 10.

Pure functions over names and sizes; reading the files is the caller's part.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

__all__ = ["chrom_name_problems", "chrom_name_key", "describe_names"]

MAX_LISTED = 4
"""How many names a message lists before it abbreviates (``a, b, c, d and 12 more``)."""

_PREFIX_RE = re.compile(r"^(chromosome|chrom|chr)[_-]?", re.IGNORECASE)
_ROMAN_RE = re.compile(r"^(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")  # 1..89: no M/C/D, so chrM is never 1000
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_MITO_ALIASES = frozenset({"m", "mt", "mito", "mitochondrion", "mitochondrial"})  # after the prefix is dropped
_KIND_WORDS = {
    "prefix": "the `chr` prefix",
    "case": "upper/lower case",
    "numerals": "Roman vs Arabic numerals",
    "mito": "the mitochondrion's name",
}


def chrom_name_problems(
    reference: Mapping[str, int],
    others: Mapping[str, Collection[str] | Mapping[str, int]],
    *,
    require: Iterable[str] = (),
    reference_label: str = "the FASTA",
) -> list[str]:
    """Compare each source's chromosome names (and sizes, where it has them) with the reference's.

    Parameters
    ----------
    reference : the FASTA's chromosome name → length, in file order.
    others : source label → its chromosome names (a set, e.g. the chromosomes a peak file uses) or name →
        length (a bigWig or BAM header). The label names the project-file key and the file, e.g.
        ``"experiment[0].plus (pho4.plus.bw)"``; every message starts with it.
    require : reference chromosomes every source must name (e.g. those holding peaks or a split); a source
        that lacks one gets a message. Other reference chromosomes may be absent from a source.
    reference_label : how messages call the reference.

    Returns
    -------
    Problems, a few lines per source (empty when all agree): names the reference lacks, grouped by how they
    differ from a reference name (prefix, case, numerals, mitochondrion) with the renaming that fixes them;
    names with no counterpart at all; sizes that differ from the reference's; required names missing.
    """
    ref_names = list(reference)
    required = set(require)
    problems: list[str] = []
    for label, names in others.items():
        sizes = dict(names) if isinstance(names, Mapping) else None
        source = list(names)
        pairs, unmatched = _match(source, ref_names)
        for kinds, group in _group_by_kinds(pairs, ref_names).items():
            problems.append(_renaming_message(label, kinds, group, reference_label))
        if unmatched:
            problems.append(
                f"{label}: {_count(len(unmatched), 'chromosome')} not in {reference_label}: "
                f"{_listing(_natural_sorted(unmatched))} ({reference_label} has {describe_names(ref_names)}); "
                f"fix: use the {reference_label.removeprefix('the ')} these files were made with, or drop those "
                "chromosomes from the file"
            )
        if sizes is not None:
            size_problem = _size_message(label, sizes, reference, pairs, reference_label)
            if size_problem:
                problems.append(size_problem)
        present = set(source) | {ref for _, ref in pairs}
        missing = [name for name in ref_names if name in required and name not in present]
        if missing:
            problems.append(
                f"{label}: lacks {_noun(len(missing), 'chromosome')} {_listing(missing)}, which the run uses "
                "(peaks or a split chromosome); fix: make this file over the whole genome"
            )
    return problems


def chrom_name_key(name: str) -> str:
    """The name with any ``chr``/``chrom``/``chromosome`` prefix dropped, case-folded (``ChrI`` → ``i``)."""
    return _PREFIX_RE.sub("", name).casefold()


def describe_names(names: list[str]) -> str:
    """A short description of ordered names: all of them when few, else ``first..last (n names)``."""
    if len(names) <= MAX_LISTED:
        return ", ".join(names) if names else "no chromosomes"
    return f"{names[0]}..{names[-1]} ({len(names)} names)"


def _match(source: list[str], ref_names: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Pair each source name that the reference lacks with a reference name, in stages (least change first).

    Returns (source, reference) pairs of differing names, and the source names with no counterpart. A stage
    pairs only keys that are unique among the still-unpaired names on both sides.
    """
    ref_set, source_set = set(ref_names), set(source)
    left = [name for name in source if name not in ref_set]
    free_refs = [name for name in ref_names if name not in source_set]
    pairs: list[tuple[str, str]] = []
    for key in (chrom_name_key, _mito_key, _numeral_key):
        src_by_key = _unique_by(left, key)
        ref_by_key = _unique_by(free_refs, key)
        for k, src in src_by_key.items():
            if k is not None and k in ref_by_key:
                pairs.append((src, ref_by_key[k]))
        paired_src = {s for s, _ in pairs}
        paired_ref = {r for _, r in pairs}
        left = [name for name in left if name not in paired_src]
        free_refs = [name for name in free_refs if name not in paired_ref]
    return pairs, left


def _unique_by(names: list[str], key) -> dict[str | None, str]:
    """key → name for the keys that exactly one name has (ambiguous keys are left out)."""
    seen: dict[str | None, list[str]] = {}
    for name in names:
        seen.setdefault(key(name), []).append(name)
    return {k: v[0] for k, v in seen.items() if len(v) == 1 and k is not None}


def _mito_key(name: str) -> str | None:
    return "mito" if chrom_name_key(name) in _MITO_ALIASES else None


def _numeral_key(name: str) -> str | None:
    """The chromosome number in Arabic digits (``chrXVI`` → ``16``, ``chr16`` → ``16``); None otherwise."""
    body = _PREFIX_RE.sub("", name)
    if body.isdigit():
        return str(int(body))
    value = _roman_value(body.upper())
    return None if value is None else str(value)


def _roman_value(text: str) -> int | None:
    """Value of a Roman numeral in 1..89 (``I`` … ``LXXXIX``); None when ``text`` is not one."""
    if not text or not _ROMAN_RE.match(text):
        return None
    total = 0
    for i, char in enumerate(text):
        value = _ROMAN_VALUES[char]
        total += -value if i + 1 < len(text) and _ROMAN_VALUES[text[i + 1]] > value else value
    return total


def _kinds(src: str, ref: str) -> tuple[str, ...]:
    """How a paired source name differs from its reference name: a sorted tuple of _KIND_WORDS keys."""
    src_prefix, ref_prefix = _PREFIX_RE.match(src), _PREFIX_RE.match(ref)
    kinds = set()
    if bool(src_prefix) != bool(ref_prefix):
        kinds.add("prefix")
    elif src_prefix and ref_prefix and src_prefix.group(0) != ref_prefix.group(0):
        kinds.add("case" if src_prefix.group(0).casefold() == ref_prefix.group(0).casefold() else "prefix")
    src_body, ref_body = _PREFIX_RE.sub("", src), _PREFIX_RE.sub("", ref)
    if src_body != ref_body:
        if src_body.casefold() == ref_body.casefold():
            kinds.add("case")
        elif _mito_key(src) and _mito_key(ref):
            kinds.add("mito")
        else:
            kinds.add("numerals")
    return tuple(sorted(kinds))


def _group_by_kinds(pairs, ref_names: list[str]) -> dict[tuple[str, ...], list[tuple[str, str]]]:
    """Pairs grouped by how they differ, each group in reference order."""
    order = {name: i for i, name in enumerate(ref_names)}
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for src, ref in sorted(pairs, key=lambda pair: order[pair[1]]):
        groups.setdefault(_kinds(src, ref), []).append((src, ref))
    return groups


def _renaming_message(label: str, kinds: tuple[str, ...], group: list[tuple[str, str]], ref_label: str) -> str:
    src_names = [src for src, _ in group]
    ref_names = [ref for _, ref in group]
    how = " and ".join(_KIND_WORDS[kind] for kind in kinds)
    if kinds == ("prefix",):
        ref_prefix = next((m.group(0) for m in map(_PREFIX_RE.match, ref_names) if m), None)
        src_prefix = next((m.group(0) for m in map(_PREFIX_RE.match, src_names) if m), None)
        if ref_prefix and not src_prefix:
            fix = f"add the `{ref_prefix}` prefix to this file's names"
        elif src_prefix and not ref_prefix:
            fix = f"remove the `{src_prefix}` prefix from this file's names"
        else:
            fix = f"rename the `{src_prefix}` prefix to `{ref_prefix}`"
    else:
        fix = "rename " + _renamings(group)
    return (
        f"{label}: chromosome names differ from {ref_label}'s by {how}: {ref_label} names "
        f"{'it' if len(group) == 1 else 'them'} {describe_names(ref_names)}, this file "
        f"{describe_names(src_names)}; fix: {fix} (or use a {ref_label.removeprefix('the ')} named like this "
        "file)"
    )


def _renamings(group: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{src} → {ref}" for src, ref in group[:MAX_LISTED])
    return shown + (f" and {len(group) - MAX_LISTED} more like them" if len(group) > MAX_LISTED else "")


def _size_message(label: str, sizes: Mapping[str, int], reference: Mapping[str, int], pairs, ref_label: str) -> str:
    renamed = dict(pairs)
    differing = []
    for name, size in sizes.items():
        ref_name = name if name in reference else renamed.get(name)
        if ref_name is not None and int(size) != int(reference[ref_name]):
            differing.append(f"{name}: {int(size)} here, {int(reference[ref_name])} in {ref_label}"
                             + ("" if ref_name == name else f" as {ref_name}"))
    if not differing:
        return ""
    return (
        f"{label}: {_count(len(differing), 'chromosome')} {'has' if len(differing) == 1 else 'have'} another "
        f"length than in {ref_label} ({_listing(differing, '; ')}): the file was made against another genome "
        f"assembly — fix: use the {ref_label.removeprefix('the ')} the reads were aligned to"
    )


def _listing(items: list[str], sep: str = ", ") -> str:
    if len(items) <= MAX_LISTED:
        return sep.join(items)
    rest = f"and {len(items) - MAX_LISTED} more"
    return sep.join(items[:MAX_LISTED]) + (f" {rest}" if sep == ", " else f"{sep}{rest}")


def _count(n: int, noun: str) -> str:
    return f"{n} {_noun(n, noun)}"


def _noun(n: int, noun: str) -> str:
    return noun if n == 1 else noun + "s"


def _natural_sorted(names: Iterable[str]) -> list[str]:
    """Names sorted with embedded numbers compared as numbers (chr2 before chr10)."""
    return sorted(names, key=lambda s: [int(t) if t.isdigit() else t.casefold() for t in re.split(r"(\d+)", s)])
