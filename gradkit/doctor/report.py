"""Findings and the report: what the doctor concluded, readable by code and printable for people."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import quantities as q


@dataclass
class Finding:
    """One diagnosis.

    Attributes:
        name: stable identifier ("vanishing_gradients", "dead_relu", ...) for code.
        title: the same for people.
        severity: "error" (training cannot work) or "warning" (training is hampered).
        evidence: lines with the measured numbers that triggered the rule.
        explanation: what is going on, in plain words (after the source articles).
        remedies: ranked remedy names (see ``gradkit.doctor.remedies.REMEDIES``), best first.
        rule: the threshold that fired and why it is set there.
        layers: names of the layers concerned.
        measurements: the numbers behind the evidence, for code.
        explained_by: the name of another finding that causes this one (None if it is a root cause).
        fix: the one-line change to make in a training script (shown for watched loops).
    """
    name: str
    title: str
    severity: str
    evidence: list
    explanation: str
    remedies: list
    rule: str
    layers: list = field(default_factory=list)
    measurements: dict = field(default_factory=dict)
    explained_by: str | None = None
    fix: str = ""

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "title", "severity", "evidence", "explanation", "remedies",
                                                "rule", "layers", "measurements", "explained_by", "fix")}


@dataclass
class Report:
    """The result of a diagnosis: findings (root causes first), per-layer numbers and the loss curve.

    ``report.names`` lists the findings' names, ``"dead_relu" in report`` asks for one,
    ``report["dead_relu"]`` gets it, ``print(report)`` shows it all, ``report.to_dict()`` gives
    plain data (JSON-able), ``report.save_figure(path)`` draws the per-layer gradient flow.
    """
    findings: list
    layers: list            # per-layer summary rows: dicts of name, kind, and median quantities
    losses: list            # training loss of every step
    validation: list        # {"step", "loss", "accuracy"} where measured
    final: dict = field(default_factory=dict)   # final metrics (train/val loss and accuracy)
    anomaly: str | None = None                   # the op that first produced NaN/Inf, if found
    title: str = ""
    recorder: object = field(default=None, repr=False)
    loop: str = "trainer"                        # "user": a watched loop (findings name the line to change)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.findings]

    @property
    def healthy(self) -> bool:
        return not self.findings

    @property
    def primary(self) -> Finding | None:
        """The first root cause (None on a healthy run)."""
        return self.findings[0] if self.findings else None

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Finding:
        for f in self.findings:
            if f.name == name:
                return f
        raise KeyError(f"no finding {name!r} in this report; it has {self.names or 'none'}")

    def to_dict(self) -> dict:
        return {"title": self.title, "findings": [f.to_dict() for f in self.findings], "layers": self.layers,
                "losses": [_plain(v) for v in self.losses], "validation": self.validation,
                "final": {k: _plain(v) for k, v in self.final.items()}, "anomaly": self.anomaly}

    def __str__(self) -> str:
        from .remedies import REMEDIES
        lines = [f"gradkit doctor: {self.title}" if self.title else "gradkit doctor"]
        if self.final:
            lines.append("  final: " + ", ".join(f"{k} {_fmt(v)}" for k, v in self.final.items()))
        lines.append("")
        lines.append(layer_table(self.layers))
        lines.append("")
        if not self.findings:
            lines.append("No findings: gradients flow, units are alive and varied, the loss falls.")
            return "\n".join(lines)
        for i, f in enumerate(self.findings, 1):
            cause = f"  (a consequence of: {f.explained_by})" if f.explained_by else ""
            lines.append(f"{i}. [{f.severity.upper()}] {f.title}{cause}")
            for e in f.evidence:
                lines.append(f"     - {e}")
            lines.append(f"   Why: {f.explanation}")
            lines.append(f"   Rule: {f.rule}")
            if f.fix and self.loop == "user":
                lines.append(f"   In your code: {f.fix}")
            if f.remedies:
                lines.append("   Remedies, best first:")
                for k, r in enumerate(f.remedies, 1):
                    text = REMEDIES[r].description if r in REMEDIES else r
                    lines.append(f"     {k}. {text}")
            lines.append("")
        return "\n".join(lines).rstrip()

    def save_figure(self, path: str) -> str:
        """Draw the per-layer gradient flow and activation statistics to ``path`` (PNG); returns it."""
        from .figures import gradient_flow
        return gradient_flow(self, path)


COLUMNS = tuple((quantity, quantity.column) for quantity in q.TABLE)


def layer_table(rows: list) -> str:
    """The per-layer medians as a fixed-width table."""
    header = f"  {'layer':34s}" + "".join(f"{title:>14s}" for _, title in COLUMNS)
    lines = [header]
    for row in rows:
        cells = "".join(f"{_fmt(row.get(key)):>14s}" for key, _ in COLUMNS)
        lines.append(f"  {row['label'][:34]:34s}{cells}")
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _plain(v):
    return float(v) if isinstance(v, (int, float)) or hasattr(v, "item") else v
