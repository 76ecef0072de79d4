"""Imports every package's models so that Base.metadata is complete (Alembic, tests)."""

from consent import models as consent_models
from consent.ledger import models as ledger_models
from core.db import Base
from federation import models as federation_models
from federation.embedded import models as embedded_models
from federation.saml import models as saml_models
from idp.oidc import models as oidc_models
from idp.signin import models as signin_models
from idp.sso import models as sso_models
from keys import models as keys_models

MODULES = (
    consent_models,
    ledger_models,
    federation_models,
    embedded_models,
    saml_models,
    signin_models,
    oidc_models,
    sso_models,
    keys_models,
)
metadata = Base.metadata
