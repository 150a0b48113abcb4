"""Fixtures that run the real ferrostack binary and drive it with real CloudStack clients.

Every server runs on 127.0.0.1 port 0 in its own temporary data directory. With
FERROSTACK_TEST_DATABASE_URL set (e.g. postgres://postgres@127.0.0.1:5432/test) each
server instance gets a fresh PostgreSQL database created from that URL and dropped at
teardown; otherwise the server uses its default SQLite file in the data directory.

A server that does not start makes the tests that need it fail (never skip).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import cs
import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("FERROSTACK_BIN", REPO / "target" / "debug" / "ferrostack"))
DATABASE_URL = os.environ.get("FERROSTACK_TEST_DATABASE_URL", "").strip()
START_TIMEOUT = float(os.environ.get("FERROSTACK_TEST_START_TIMEOUT", "60"))
LISTEN_RE = re.compile(r"ferrostack listening on (http://127\.0\.0\.1:(\d+)/client/api)")

ADMIN_USER = "admin"
ADMIN_PASSWORD = "password"

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")

# Every server started in this pytest process, so failures can show their logs.
_ALL_SERVERS: list["Server"] = []
_SHARED: dict[str, "Server"] = {}


# --------------------------------------------------------------------------- database


class PostgresDatabase:
    """A throw-away database created next to FERROSTACK_TEST_DATABASE_URL's."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.name = "ferrostack_t_" + uuid.uuid4().hex[:16]
        parts = urlsplit(base_url)
        self.url = urlunsplit((parts.scheme, parts.netloc, "/" + self.name, parts.query, parts.fragment))
        self._admin(f'CREATE DATABASE "{self.name}"')

    def _admin(self, sql: str) -> None:
        try:
            import psycopg
        except ImportError:  # fall back to the psql CLI
            subprocess.run(
                ["psql", self.base_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                check=True,
                capture_output=True,
                text=True,
            )
            return
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        try:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        except Exception as e:  # never hide the test result behind a cleanup failure
            print(f"warning: could not drop test database {self.name}: {e}", file=sys.stderr)


# --------------------------------------------------------------------------- server


@dataclass
class Server:
    """One ferrostack process (restartable on the same data dir / database)."""

    data_dir: Path
    database_url: str | None
    proc: subprocess.Popen | None = None
    endpoint: str = ""
    port: int = 0
    generation: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self, extra_args: list[str] | None = None) -> "Server":
        if not BINARY.exists():
            pytest.fail(
                f"server binary {BINARY} does not exist; build it with "
                "`cargo build -p ferrostack-server` (scripts/test does this)",
                pytrace=False,
            )
        self.generation += 1
        out_path = self.data_dir / f"stdout.{self.generation}.log"
        err_path = self.data_dir / f"stderr.{self.generation}.log"
        self.logs += [out_path, err_path]
        cmd = [str(BINARY), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)]
        if self.database_url:
            cmd += ["--database", self.database_url]
        cmd += extra_args or []
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        env.setdefault("NO_COLOR", "1")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = out_path.read_text(errors="replace")
            m = LISTEN_RE.search(text)
            if m:
                self.endpoint, self.port = m.group(1), int(m.group(2))
                return self
            if self.proc.poll() is not None:
                pytest.fail(
                    f"ferrostack exited with status {self.proc.returncode} before listening\n"
                    f"command: {' '.join(cmd)}\n{self.log_text()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(
                    f"ferrostack did not print its listening line within {START_TIMEOUT}s\n"
                    f"command: {' '.join(cmd)}\n{self.log_text()}",
                    pytrace=False,
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), escalating to SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def kill(self) -> None:
        """Crash the server (SIGKILL)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.kill()
        self.proc.wait(timeout=15)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self, limit: int = 20000) -> str:
        chunks = []
        for p in self.logs:
            if p.exists():
                t = p.read_text(errors="replace")
                if len(t) > limit:
                    t = "...[truncated]...\n" + t[-limit:]
                chunks.append(f"----- {p.name} -----\n{t}")
        return "\n".join(chunks)


def new_server(tmp_path_factory):
    """Create (but do not yet start) a server with its own data dir and database."""
    data_dir = tmp_path_factory.mktemp("ferrostack-data")
    db = PostgresDatabase(DATABASE_URL) if DATABASE_URL else None
    srv = Server(data_dir=data_dir, database_url=db.url if db else None)
    _ALL_SERVERS.append(srv)
    return srv, db


class ServerFactory:
    """Creates servers for a test and always cleans them up."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.created: list[tuple[Server, PostgresDatabase | None]] = []

    def create(self) -> Server:
        srv, db = new_server(self.tmp_path_factory)
        self.created.append((srv, db))
        return srv

    def close(self) -> None:
        for srv, db in self.created:
            srv.stop()
            if db is not None:
                db.drop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and "----- stderr." not in str(rep.longrepr):  # startup failures already carry the log
        before = getattr(item, "_ferrostack_before", None)
        used = list(_ALL_SERVERS[before:]) if before is not None else list(_ALL_SERVERS[-1:])
        shared = _SHARED.get("server")
        if shared is not None and "server" in getattr(item, "fixturenames", ()) and shared not in used:
            used.insert(0, shared)
        for srv in used:
            rep.sections.append((f"ferrostack server log ({srv.data_dir})", srv.log_text()))


# --------------------------------------------------------------------------- signing / raw HTTP


def java_encode(value: str) -> str:
    """java.net.URLEncoder.encode(v, UTF-8) with '+' replaced by '%20' (CloudStack's rule).

    Unlike urllib's quote, `~` is escaped (only A-Z a-z 0-9 . - * _ stay literal).
    """
    out = []
    for b in value.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in ".-*_"):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def sign(params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{k}={java_encode(str(v))}" for k, v in sorted(params.items()))
    digest = hmac.new(secret.encode(), canonical.lower().encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_params(key: str, secret: str, command: str, **params: Any) -> dict[str, str]:
    p = {k: str(v) for k, v in params.items()}
    p.update(command=command, apiKey=key, response="json")
    p["signature"] = sign(p, secret)
    return p


@dataclass
class Creds:
    endpoint: str
    key: str
    secret: str
    userid: str = ""
    username: str = ""
    accountid: str = ""
    account: str = ""
    domainid: str = ""

    def client(self, method: str = "get", **kw) -> cs.CloudStack:
        return cs.CloudStack(endpoint=self.endpoint, key=self.key, secret=self.secret, method=method, **kw)

    def raw(self, command: str, method: str = "get", **params) -> requests.Response:
        """A signed request sent with plain `requests` (to look at status, headers, body)."""
        p = signed_params(self.key, self.secret, command, **params)
        if method == "get":
            return requests.get(self.endpoint, params=p, timeout=30)
        return requests.post(self.endpoint, data=p, timeout=30)


def login(endpoint: str, username: str, password: str, domain: str = "/") -> tuple[requests.Session, dict]:
    s = requests.Session()
    r = s.post(
        endpoint,
        data={"command": "login", "username": username, "password": password, "domain": domain, "response": "json"},
        timeout=30,
    )
    assert r.status_code == 200, f"login as {username} failed: HTTP {r.status_code} {r.text}"
    return s, r.json()["loginresponse"]


def admin_creds(srv: Server) -> Creds:
    """Log in as the seeded admin with a session and register an API key pair."""
    s, lr = login(srv.endpoint, ADMIN_USER, ADMIN_PASSWORD)
    r = s.post(
        srv.endpoint,
        data={"command": "registerUserKeys", "id": lr["userid"], "sessionkey": lr["sessionkey"], "response": "json"},
        timeout=30,
    )
    assert r.status_code == 200, f"registerUserKeys failed: HTTP {r.status_code} {r.text}"
    keys = r.json()["registeruserkeysresponse"]["userkeys"]
    return Creds(
        endpoint=srv.endpoint,
        key=keys["apikey"],
        secret=keys["secretkey"],
        userid=lr["userid"],
        username=ADMIN_USER,
        account=lr.get("account", "admin"),
        domainid=lr.get("domainid", ""),
    )


def error_of(exc: cs.CloudStackApiException) -> tuple[int, dict]:
    return exc.response.status_code, exc.error


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_account(client: cs.CloudStack, **kw) -> dict:
    """createAccount with sensible defaults; returns the account object."""
    name = kw.pop("username", None) or unique("acct")
    params = dict(
        username=name,
        password=kw.pop("password", "Secret-pw-1"),
        email=kw.pop("email", f"{name}@example.org"),
        firstname=kw.pop("firstname", "First"),
        lastname=kw.pop("lastname", "Last"),
        accounttype=kw.pop("accounttype", 0),
    )
    params.update(kw)
    return client.createAccount(**params)["account"]


def wait_job(client: cs.CloudStack, jobid: str, timeout: float = 60) -> dict:
    """Poll queryAsyncJobResult until the job leaves status 0; return the flat job object."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.queryAsyncJobResult(jobid=jobid)
        if job["jobstatus"] != 0:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {jobid} still pending after {timeout}s: {job}")
        time.sleep(0.2)


# --------------------------------------------------------------------------- cs CLI


def run_cs_cli(creds: Creds, *args: str, post: bool = False, timeout: float = 120) -> tuple[subprocess.CompletedProcess, Any]:
    """Run the `cs` command line tool as a subprocess against the server.

    Returns the completed process and its stdout parsed as JSON (None if not JSON).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSTACK_")}
    env.update(
        CLOUDSTACK_ENDPOINT=creds.endpoint,
        CLOUDSTACK_KEY=creds.key,
        CLOUDSTACK_SECRET=creds.secret,
        CLOUDSTACK_POLL_INTERVAL="0.3",
        CLOUDSTACK_TIMEOUT="30",
        CLOUDSTACK_JOB_TIMEOUT="90",
    )
    cmd = [sys.executable, "-m", "cs"]
    if post:
        cmd.append("--post")
    cmd += list(args)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        data = None
    return proc, data


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server shared by the tests that do not need a pristine one."""
    srv, db = new_server(tmp_path_factory)
    _SHARED["server"] = srv
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        if db is not None:
            db.drop()


@pytest.fixture(autouse=True)
def _remember_servers(request):
    """Record which servers a test starts, so a failure report shows their logs."""
    request.node._ferrostack_before = len(_ALL_SERVERS)
    yield


@pytest.fixture
def server_factory(tmp_path_factory):
    f = ServerFactory(tmp_path_factory)
    try:
        yield f
    finally:
        f.close()


@pytest.fixture(scope="session")
def admin_keys(server) -> Creds:
    return admin_creds(server)


@pytest.fixture(scope="session")
def admin(admin_keys) -> cs.CloudStack:
    """A `cs.CloudStack` client for the root admin (GET)."""
    return admin_keys.client("get")


@pytest.fixture(scope="session")
def admin_post(admin_keys) -> cs.CloudStack:
    """A `cs.CloudStack` client for the root admin (POST form bodies)."""
    return admin_keys.client("post")


@pytest.fixture(params=["get", "post"])
def client(request, admin_keys) -> cs.CloudStack:
    """The root admin client, once with GET and once with POST."""
    return admin_keys.client(request.param)


@pytest.fixture
def cs_cli(admin_keys):
    """Run the `cs` CLI as the root admin: cs_cli("listAccounts", "name=x", post=False)."""

    def run(*args, post=False, creds=None):
        return run_cs_cli(creds or admin_keys, *args, post=post)

    return run


# --------------------------------------------------------------------------- per-module servers


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """A server of its own for one test module, whose tests share the cloud they build on it.

    Its data directory (`module_server.data_dir`) holds the simulator's files, e.g. the
    config-drive ISOs under `simulator/configdrive/<instancename>.iso`.
    """
    srv, db = new_server(tmp_path_factory)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        if db is not None:
            db.drop()


@pytest.fixture(scope="module")
def module_admin(module_server) -> Creds:
    """API keys of the seeded admin on `module_server`."""
    return admin_creds(module_server)


@pytest.fixture(autouse=True)
def _module_server_logs(request, _remember_servers):
    """A failing test that uses `module_server` shows that server's log too."""
    if "module_server" in request.fixturenames:
        srv = request.getfixturevalue("module_server")
        if srv in _ALL_SERVERS:
            request.node._ferrostack_before = min(request.node._ferrostack_before, _ALL_SERVERS.index(srv))
