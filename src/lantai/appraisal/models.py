"""鉴定与销毁: retention-expiry, classification and value appraisal, the appraisal group's proposals
and decisions, and disposal with its destruction list."""
