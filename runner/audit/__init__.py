"""The evidence: events (hash-chained), screenshots, the report, the signed manifest, verification."""
