"""The report's sections: stable ids (HTML anchors, PNG names) and titles, in page order."""

SECTIONS = {
    "best": "Best trial",
    "trials": "All trials",
    "curves": "Learning curves",
    "parallel": "Hyperparameters vs metric",
    "importance": "Hyperparameter importance",
    "progress": "Best metric over wall time",
    "resources": "Trials over time per node",
}
SECTION_IDS = tuple(SECTIONS)
