"""存: storage locations, OCFL packages, replicas, fixity audits, PREMIS events, rebuild."""
