"""Shared fixtures: which real services this run has, and how a test demands them.

With CI=true a missing service fails the test; otherwise the test skips with the reason.
"""

import os
import shutil

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection, connections, transaction
from django.test import TransactionTestCase

CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing(reason: str) -> None:
    if CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


# --- Speed: cheap password hashes, a cheap empty database between transactional tests ----


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 with few rounds, for the hundreds of users the tests create (a full
    hash costs 0.3 to 0.6 s here). The hash names its rounds, so the servers a test starts
    (Django's default hashers) verify it as usual; no test is about the cost of a hash."""

    iterations = 1_000


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashes():
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = [f"{__name__}.QuickPBKDF2PasswordHasher", *settings.PASSWORD_HASHERS]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


def _auth_catalog(db_name: str) -> tuple:
    """The content types and permissions rows: what post_migrate recreates after a flush."""
    with connections[db_name].cursor() as cursor:
        cursor.execute("SELECT id, app_label, model FROM django_content_type ORDER BY id")
        content_types = cursor.fetchall()
        cursor.execute("SELECT id, content_type_id, codename, name FROM auth_permission ORDER BY id")
        return content_types, cursor.fetchall()


_catalogs: dict[str, tuple] = {}
_django_fixture_teardown = TransactionTestCase._fixture_teardown


def _emptying_fixture_teardown(self):
    """A transactional test's teardown leaves the database as Django's flush does, faster.

    Django's flush TRUNCATEs every table (0.3 to 0.9 s for our 61 tables, most of them empty)
    and then post_migrate recreates the content types and permissions. On PostgreSQL this
    DELETEs every other table's rows in one transaction instead (the foreign keys are
    deferred, so the order does not matter) and keeps those two tables when they hold
    exactly what the migrations made; anything else, and any other database, takes Django's
    own flush.
    """
    names = self._databases_names(include_mirrors=False)
    if (
        self.available_apps is not None
        or self.serialized_rollback
        or any(connections[name].vendor != "postgresql" or name not in _catalogs for name in names)
    ):
        return _django_fixture_teardown(self)
    for name in names:
        conn = connections[name]
        if _auth_catalog(name) != _catalogs[name]:
            _django_fixture_teardown(self)  # a test changed them: flush and let post_migrate rebuild
            _catalogs[name] = _auth_catalog(name)
            continue
        tables = conn.introspection.django_table_names(only_existing=True, include_views=False)
        with transaction.atomic(using=name), conn.cursor() as cursor:
            for table in tables:
                if table not in ("django_content_type", "auth_permission"):
                    cursor.execute(f"DELETE FROM {conn.ops.quote_name(table)}")  # noqa: S608 (our table names)
    return None


TransactionTestCase._fixture_teardown = _emptying_fixture_teardown


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, and the catalog the quick teardown compares with."""
    with django_db_blocker.unblock():
        for name in connections:
            if connections[name].vendor == "postgresql":
                _catalogs[name] = _auth_catalog(name)


@pytest.fixture(autouse=True)
def _forget_wanted_event_kinds():
    """The kinds event-webhook subscriptions want are cached per process for 5 s: an earlier
    test's subscription must not make this test record chat events it never asked for."""
    from api.integration_events import forget_cached_kinds

    forget_cached_kinds()
    yield
    forget_cached_kinds()


@pytest.fixture(autouse=True)
def _cancel_embedded_timers():
    """Eager-mode timer threads a test started must not fire into the next test."""
    yield
    from contactcenter import embedded

    embedded.cancel_pending()


# --- Order: the long tests first ----------------------------------------------------------

# Tests that start servers, workers or a browser take seconds to a minute each. Run them first
# (`slow` ones, then those with Celery workers, then those with a Daphne or a browser), so
# that a parallel run ends on short tests instead of one long test on one xdist worker while
# the others idle; scripts/run-tests.sh hands tests out two at a time to keep that order.
# So tests on a plain `db` may now run after transactional ones, whose flush also empties
# what the data migrations installed (the stock Mobile Chat): the tests that need it install
# it again when it is gone (the `mobile_chat` fixture and its kin).
_SLOW_FIXTURES = (("celery_processes",), ("live_daphne", "page", "browser"))


def _start_rank(item) -> int:
    if item.get_closest_marker("slow"):
        return 0
    for rank, names in enumerate(_SLOW_FIXTURES, start=1):
        if any(name in item.fixturenames for name in names):
            return rank
    return len(_SLOW_FIXTURES) + 1


def pytest_collection_modifyitems(items):
    items.sort(key=_start_rank)  # stable: pytest-django's order within a rank


@pytest.fixture
def require_postgres():
    if connection.vendor != "postgresql":
        _missing("this test needs PostgreSQL (set DATABASE_URL=postgres://...)")


@pytest.fixture
def redis_url():
    """The Redis URL of this run; the test needs a live Redis."""
    if not settings.REDIS_URL:
        _missing("this test needs Redis (set REDIS_URL=redis://...)")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _missing(f"Redis at {settings.REDIS_URL} does not answer: {exc}")
    return settings.REDIS_URL


@pytest.fixture(scope="session")
def chromium_path():
    if not (os.path.exists(CHROMIUM_PATH) or shutil.which("chromium")):
        _missing(f"this test needs Chromium at {CHROMIUM_PATH} (apt-get install chromium)")
    return CHROMIUM_PATH if os.path.exists(CHROMIUM_PATH) else shutil.which("chromium")


# --- Real server processes ------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """A DATABASE_URL for child processes that points at this run's test database."""
    db = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        user = db.get("USER") or "postgres"
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{user}@{host}:{port}/{connection.settings_dict['NAME']}"
    return f"sqlite:///{connection.settings_dict['NAME']}"


def server_environment(**overrides: str) -> dict[str, str]:
    """Environment for a child process of the product (Daphne, Celery) on the test database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEY=",".join(settings.FIELD_ENCRYPTION_KEY),
        DEBUG="false",
        SIMULATOR_ENABLED="true",
        PYTHONUNBUFFERED="1",
    )
    env.pop("TEST_DATABASE_NAME", None)
    # Like this process, a child runs no embedded beat unless the test asks for one
    # (`@pytest.mark.embedded_beat`): sweepers racing the test's own calls make results vary.
    env["EMBEDDED_BEAT"] = "false"
    # This xdist worker's own Redis db and channel prefix, as values (settings.py derives them).
    env.pop("PYTEST_XDIST_WORKER", None)
    if settings.REDIS_URL:
        env.update(REDIS_URL=settings.REDIS_URL, CHANNELS_PREFIX=settings.CHANNELS_PREFIX)
    env.update(overrides)
    return env


class LiveServer:
    def __init__(self, url: str, process):
        self.url = url
        self.process = process
        self.start = None  # set by live_daphne: starts a new server process on the same port

    def __str__(self) -> str:
        return self.url

    def restart(self) -> None:
        """Stop the server process (SIGTERM) and start a new one on the same port: a restart."""
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process = self.start()


@pytest.fixture
def live_daphne(transactional_db, tmp_path, request):
    """The product served by a real Daphne process on the test database (HTTP + WebSocket).

    Data the test writes must be committed to be seen (hence transactional_db). With
    `@pytest.mark.embedded_beat` the server runs the beat schedule itself, as `make run` does;
    with `@pytest.mark.production_shape` it runs no task itself: every task goes through Redis
    to the Celery workers the test starts (`celery_processes`), as in production.
    """
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "daphne.log"
    env = server_environment(PUBLIC_BASE_URL=url, ALLOWED_HOSTS="127.0.0.1,localhost")
    if request.node.get_closest_marker("embedded_beat"):
        env["EMBEDDED_BEAT"] = "true"
    if request.node.get_closest_marker("production_shape"):
        if not settings.REDIS_URL:
            _missing("Redis is not reachable: the production shape needs it")
        env["CELERY_TASK_ALWAYS_EAGER"] = "false"

    def start():
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "contactcenter.server",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "contactcenter.asgi:application",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2).read()
                return process
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError(f"Daphne did not start:\n{log_path.read_text()[-4000:]}") from None
                time.sleep(0.2)

    server = LiveServer(url, start())
    server.start = start
    server.log_path = log_path
    try:
        yield server
    finally:
        # The test is over: no need to wait for a graceful shutdown (restart() still does).
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(chromium_path):
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are still synchronous, so Django's async guard must stand aside here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    # expect() waits for the same end state, up to 15 s like the page's actions (its default
    # is 5 s): on the two-core CI machine three xdist workers run servers, Celery workers and
    # browsers at once, and a frame once took longer than 5 s to show.
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    yield page
    context.close()


def run_async(async_fn, *args):
    """Run an async test scenario to the end from sync test code, on a thread of its own.

    Playwright's sync API (the session-wide `browser`) leaves an event loop in the main
    thread, where async_to_sync refuses to run; a fresh thread has none, whatever ran before
    in this process. Tests that use it are transactional: the thread has its own connection.
    """
    import concurrent.futures

    from asgiref.sync import async_to_sync

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(async_to_sync(async_fn), *args).result()
