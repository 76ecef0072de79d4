def create_app(config=None):
    """The application factory (Flask tutorial style); see idp.app.build_app."""
    from idp.app import build_app

    return build_app(config)
