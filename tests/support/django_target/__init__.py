"""An end-to-end target built from the real parts Podero runs on (issue 19, item 8): Django with APPEND_SLASH,
django-oauth-toolkit's token view (its JSON backend at the guide's `/oauth2/token/`, its form default at
`/o/token/`), and a small Django view serving the session, list and `current` routes from the reference
deployment's data (`conformance.reference`). Test code only: nothing of it ships in the package.

`start(db_path)` configures Django once per process (temp-file sqlite, migrations once) and serves it on a free
loopback port; `provision(fleet, credentials)` makes each tenant's OAuth application (and operator login) and
chooses the data the views serve.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from pathlib import Path

from conformance.reference.dataset import Fleet
from conformance.reference.oauth import Credentials
from conformance.reference.server import start_in_thread

JSON_TOKEN_PATH = "/oauth2/token/"  # Podero's guide: HTTP Basic and a JSON body (DOT's JSONOAuthLibCore)
FORM_TOKEN_PATH = "/o/token/"  # DOT's default mount, reading RFC 6749 forms (OAuthLibCore)


def configure(db_path: Path) -> None:
    """Django's settings as a Podero-like project has them: DEBUG off, APPEND_SLASH with CommonMiddleware, DOT."""
    import django
    from django.conf import settings

    if settings.configured:  # once per process: Django's settings cannot be configured twice
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="django-target-of-the-e2e-tests-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF="django_target.urls",
        APPEND_SLASH=True,
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "oauth2_provider"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db_path)}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        # a fast hasher for the operator's password and the client secrets DOT hashes: a test stand, not a product
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        OAUTH2_PROVIDER={
            "SCOPES": {"read": "Read scope", "write": "Write scope"},
            "ACCESS_TOKEN_EXPIRE_SECONDS": 36000,  # as Podero's guide shows
            # each token view builds its own OAuthLibCore: the JSON view's class attribute would otherwise be
            # shadowed by whichever view cached its core first (OAuthLibMixin.get_oauthlib_core uses hasattr)
            "ALWAYS_RELOAD_OAUTHLIB_CORE": True,
        },
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def provision(fleet: Fleet, credentials: dict[str, Credentials]) -> None:
    """Tenant A as a confidential client_credentials application; every other tenant as a public password-grant
    application with its operator's login. The views serve `fleet` from now on."""
    from django.contrib.auth.models import User
    from oauth2_provider.models import Application

    from django_target import views

    Application.objects.all().delete()
    User.objects.all().delete()
    for tenant in fleet.tenants:
        creds = credentials[tenant.key]
        if tenant.key == "a":
            Application.objects.create(name=tenant.key, client_id=creds.client_id, client_secret=creds.client_secret,
                                       client_type=Application.CLIENT_CONFIDENTIAL,
                                       authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS)
        else:
            user = User.objects.create_user(username=creds.username, password=creds.password)
            Application.objects.create(name=tenant.key, client_id=creds.client_id, user=user,
                                       client_type=Application.CLIENT_PUBLIC,
                                       authorization_grant_type=Application.GRANT_PASSWORD)
    views.serve(fleet)


@contextlib.contextmanager
def start(db_path: Path) -> Iterator[str]:
    """Django configured, migrated and served (ASGI, uvicorn) on a free loopback port: yields its base URL."""
    configure(db_path)
    from django.core.asgi import get_asgi_application

    with start_in_thread(types.SimpleNamespace(app=get_asgi_application())) as url:
        yield url
