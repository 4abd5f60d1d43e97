"""Colours shared by the interactive and the static figures, so a trial looks the same in both."""

from __future__ import annotations

from pipetune.report._model import ERROR, TERMINATED, ExperimentData

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
STATUS_COLORS: dict[str, str] = {TERMINATED: "#2ca02c", ERROR: "#d62728"}
OTHER_STATUS_COLOR = "#1f77b4"


def trial_colors(experiment: ExperimentData) -> dict[str, str]:
    return {t.trial_id: PALETTE[i % len(PALETTE)] for i, t in enumerate(experiment.trials)}


def status_color(status: str) -> str:
    return STATUS_COLORS.get(status, OTHER_STATUS_COLOR)
