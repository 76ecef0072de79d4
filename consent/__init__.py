"""Guardian consent for data sharing between services (issue 5): purposes, records, policy,
enforcement in tokens and the audit ledger. Empty until then."""
