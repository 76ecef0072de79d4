"""The embedded directory: a city's accounts kept in DigiOne's own database."""
