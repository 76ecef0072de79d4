"""Single sign-on sessions."""
