"""The experiment folder: one owner of its file names, statuses, rows, history and state.

``pipetune.tune`` writes through this package, ``pipetune.report`` and the CLI read through
it. It imports neither Ray nor torch, so reading a folder (a report, ``pipetune status``
on a login node) never starts either.
"""

from pipetune.experiment._files import (
    BEST_CONFIG_FILE,
    CONFIG_COPY,
    DIVERGED_DIR,
    HISTORY_FILE,
    LOCK_FILE,
    META_FILE,
    PARETO_DIR,
    REPORT_FILE,
    RESULTS_FILE,
    STATE_GLOB,
    holds_experiment,
    move_aside,
)
from pipetune.experiment._history import History, HistoryWriter, read_history
from pipetune.experiment._lock import ExperimentLock
from pipetune.experiment._names import LABEL, display_names, space_categories, space_labels
from pipetune.experiment._results import (
    parse_cell,
    read_results,
    write_results,
)
from pipetune.experiment._state import (
    StateTrial,
    TuneState,
    latest_state_file,
    read_state,
    state_files,
)
from pipetune.experiment._status import FINISHED, Status

__all__ = [
    "BEST_CONFIG_FILE",
    "CONFIG_COPY",
    "DIVERGED_DIR",
    "FINISHED",
    "HISTORY_FILE",
    "LABEL",
    "LOCK_FILE",
    "META_FILE",
    "PARETO_DIR",
    "REPORT_FILE",
    "RESULTS_FILE",
    "STATE_GLOB",
    "ExperimentLock",
    "History",
    "HistoryWriter",
    "StateTrial",
    "Status",
    "TuneState",
    "display_names",
    "holds_experiment",
    "latest_state_file",
    "move_aside",
    "parse_cell",
    "read_history",
    "read_results",
    "read_state",
    "space_categories",
    "space_labels",
    "state_files",
    "write_results",
]
