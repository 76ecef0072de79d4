"""Guardian consent for data sharing between services (issue 5): who may consent
(consent.policy); purposes, records, enforcement in tokens and the audit trail follow."""
