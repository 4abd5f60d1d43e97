"""Reports of an experiment folder: one self-contained report.html, PNG figures, report.md.

``write_report(folder)`` reads what ``pipetune tune`` left in ``folder`` (finished, still
running or interrupted) and writes ``report.html`` beside it; ``live_report(folder, every_s)``
rewrites it in a background thread while the experiment runs (a banner, a self-reload).
"""

from pipetune.report._compare import COMPARE_FILE, write_compare
from pipetune.report._importance import import_in_background
from pipetune.report._live import LiveBanner, LiveReport
from pipetune.report._load import load_experiment
from pipetune.report._model import ExperimentData, Trial
from pipetune.report._sections import SECTION_IDS
from pipetune.report._status import ExperimentStatus, experiment_status
from pipetune.report._summary import print_summary
from pipetune.report._write import (
    FORMATS,
    HTML_FILE,
    MARKDOWN_FILE,
    ReportFiles,
    live_report,
    render_page,
    write_files,
    write_report,
)

__all__ = [
    "COMPARE_FILE",
    "FORMATS",
    "HTML_FILE",
    "MARKDOWN_FILE",
    "SECTION_IDS",
    "ExperimentData",
    "ExperimentStatus",
    "LiveBanner",
    "LiveReport",
    "ReportFiles",
    "Trial",
    "experiment_status",
    "import_in_background",
    "live_report",
    "load_experiment",
    "print_summary",
    "render_page",
    "write_compare",
    "write_files",
    "write_report",
]
