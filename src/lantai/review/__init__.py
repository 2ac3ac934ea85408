"""开放审核: computer-assisted open review with the forming units (plans, machine pre-screen,
review queue, decisions, redacted open copies, exchange of appraisal results, publication)."""
