"""City directories: connectors, the common identity profile, provisioning (ARCHITECTURE.md)."""
