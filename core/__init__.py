"""The shared kernel every package builds on: the database (core.db), the configuration loader
and its schema (core.settings), app accessors (core.app), security headers and CSRF
(core.security), digests and secret hashing (core.hashing).

The kernel imports no product package (keys, federation, idp, consent); they import it. The
composition root (idp.app, idp.cli, idp.migrations) hands it what the packages contribute, such
as the connectors' directory settings."""
