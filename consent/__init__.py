"""Guardian consent for data sharing between services: who may consent
(consent.policy); purposes, records, enforcement in tokens and the audit trail follow."""
