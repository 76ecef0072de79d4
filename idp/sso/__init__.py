"""Single sign-on: the session kept for a browser (session, browser), and the protocol
frontends it serves (frontends), which the sign-in and the OpenID Connect provider both build
on without importing each other."""
