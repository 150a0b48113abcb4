"""Authentication (reference §1.3–1.5, §2) and error envelopes (§5)."""

import time
import uuid
from datetime import datetime, timedelta, timezone

import cs
import pytest
import requests

from conftest import ADMIN_PASSWORD, error_of, login, new_account, sign, signed_params, unique


def assert_error(r: requests.Response, status: int, top: str | None = None):
    assert r.status_code == status, f"expected HTTP {status}, got {r.status_code}: {r.text}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert len(body) == 1, body
    [(key, inner)] = body.items()
    if top is not None:
        assert key in (top, "errorresponse"), body
    assert inner["errorcode"] == status, body
    assert isinstance(inner["errortext"], str) and inner["errortext"], body
    assert inner.get("uuidList", []) == [] or isinstance(inner["uuidList"], list), body
    return inner


# --------------------------------------------------------------------------- API key signatures


@pytest.mark.parametrize("method", ["get", "post"])
def test_wrong_secret_is_401(admin_keys, method):
    bad = cs.CloudStack(endpoint=admin_keys.endpoint, key=admin_keys.key, secret="not-the-secret", method=method)
    with pytest.raises(cs.CloudStackApiException) as e:
        bad.listAccounts()
    status, err = error_of(e.value)
    assert status == 401 and err["errorcode"] == 401, err
    r = requests.get(admin_keys.endpoint, params=signed_params(admin_keys.key, "nope", "listAccounts"), timeout=30)
    assert_error(r, 401, "listaccountsresponse")


def test_unknown_apikey_is_401(admin_keys):
    c = cs.CloudStack(endpoint=admin_keys.endpoint, key="no-such-key", secret=admin_keys.secret)
    with pytest.raises(cs.CloudStackApiException) as e:
        c.listUsers()
    assert error_of(e.value)[0] == 401


def test_missing_signature_is_401(admin_keys):
    r = requests.get(admin_keys.endpoint, params={"command": "listAccounts", "apiKey": admin_keys.key, "response": "json"}, timeout=30)
    assert_error(r, 401)
    r = requests.get(admin_keys.endpoint, params={"command": "listAccounts", "response": "json"}, timeout=30)
    assert_error(r, 401)


def test_expired_signature_version_3_is_401(admin_keys, admin):
    past = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    with pytest.raises(cs.CloudStackApiException) as e:
        admin.listAccounts(signatureVersion="3", expires=past)
    assert error_of(e.value)[0] == 401
    # lowercase signatureversion (cloudmonkey / cloudstack-go) and a Z suffix are honoured too
    past_z = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = admin_keys.raw("listAccounts", signatureversion="3", expires=past_z)
    assert_error(r, 401)
    # a version-3 request without expires is rejected
    r = admin_keys.raw("listAccounts", signatureVersion="3")
    assert_error(r, 401)


def test_future_expiry_accepted_in_all_formats(admin_keys):
    now = datetime.now(timezone.utc) + timedelta(minutes=10)
    for fmt in ("%Y-%m-%dT%H:%M:%S+0000", "%Y-%m-%dT%H:%M:%S+00:00", "%Y-%m-%dT%H:%M:%SZ"):
        r = admin_keys.raw("listAccounts", signatureVersion="3", expires=now.strftime(fmt))
        assert r.status_code == 200, (fmt, r.text)
    # without signatureVersion=3 an old `expires` is not checked
    r = admin_keys.raw("listAccounts", expires="2001-01-01T00:00:00+0000")
    assert r.status_code == 200, r.text


def test_signature_value_encoding_variants(admin_keys):
    """cs leaves `~` unescaped while the server rule escapes it: both must verify."""
    value = "a~b c+d/e*"
    r = admin_keys.raw("listAccounts", keyword=value, listall="true")  # strict Java rule
    assert r.status_code == 200, r.text
    c = admin_keys.client()
    assert c.listAccounts(keyword=value, listall=True) == {}  # cs's own encoding


def test_parameter_names_case_insensitive_and_unknown_ignored(admin_keys):
    r = admin_keys.raw("listAccounts", listAll="true", notAParameter="x", _="123")
    assert r.status_code == 200, r.text
    assert r.json()["listaccountsresponse"]["count"] >= 1


# --------------------------------------------------------------------------- sessions


def test_login_response_and_cookies(server):
    s, lr = login(server.endpoint, "admin", ADMIN_PASSWORD)
    for key in ("username", "userid", "domainid", "timeout", "account", "firstname", "lastname", "type", "sessionkey"):
        assert key in lr, f"loginresponse lacks {key}: {lr}"
    assert isinstance(lr["timeout"], int) and lr["type"] == "1" and lr["username"] == "admin"
    cookies = s.cookies.get_dict()
    assert "JSESSIONID" in cookies and cookies.get("sessionkey") == lr["sessionkey"], cookies


def test_session_requires_sessionkey_parameter(server):
    s, lr = login(server.endpoint, "admin", ADMIN_PASSWORD)
    # cookie only: JSESSIONID + sessionkey cookies, no sessionkey parameter
    r = s.get(server.endpoint, params={"command": "listAccounts", "response": "json"}, timeout=30)
    assert_error(r, 401, "listaccountsresponse")
    # cookie + wrong parameter
    s2, lr2 = login(server.endpoint, "admin", ADMIN_PASSWORD)
    r = s2.get(server.endpoint, params={"command": "listAccounts", "response": "json", "sessionkey": "wrong"}, timeout=30)
    assert_error(r, 401)
    # parameter without any cookie
    s3, lr3 = login(server.endpoint, "admin", ADMIN_PASSWORD)
    r = requests.get(server.endpoint, params={"command": "listAccounts", "response": "json", "sessionkey": lr3["sessionkey"]}, timeout=30)
    assert_error(r, 401)
    # cookie + parameter works, with GET and POST
    r = s3.get(server.endpoint, params={"command": "listAccounts", "response": "json", "sessionkey": lr3["sessionkey"]}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["listaccountsresponse"]["count"] >= 1
    r = s3.post(server.endpoint, data={"command": "listUsers", "response": "json", "sessionkey": lr3["sessionkey"]}, timeout=30)
    assert r.status_code == 200, r.text


def test_logout_invalidates_session(server):
    s, lr = login(server.endpoint, "admin", ADMIN_PASSWORD)
    key = lr["sessionkey"]
    r = s.get(server.endpoint, params={"command": "listDomains", "response": "json", "sessionkey": key}, timeout=30)
    assert r.status_code == 200, r.text
    cookies = dict(s.cookies.get_dict())
    r = s.post(server.endpoint, data={"command": "logout", "response": "json", "sessionkey": key}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {"logoutresponse": {"description": "success"}}
    assert r.headers["Content-Type"].startswith("application/json")
    # replaying the old cookies and key is refused
    r = requests.get(server.endpoint, params={"command": "listDomains", "response": "json", "sessionkey": key},
                     cookies=cookies, timeout=30)
    assert_error(r, 401)


def test_bad_login_is_531(server):
    r = requests.post(server.endpoint, data={"command": "login", "username": "admin", "password": "wrong",
                                             "domain": "/", "response": "json"}, timeout=30)
    inner = assert_error(r, 531, "loginresponse")
    assert "sessionkey" not in inner
    r = requests.post(server.endpoint, data={"command": "login", "username": unique("ghost"), "password": "x",
                                             "response": "json"}, timeout=30)
    assert_error(r, 531)


# --------------------------------------------------------------------------- parameter errors


@pytest.mark.parametrize("method", ["get", "post"])
def test_missing_parameter_is_431_with_cloudstack_wording(admin_keys, method):
    c = admin_keys.client(method)
    with pytest.raises(cs.CloudStackApiException) as e:
        c.createAccount(username=unique("m"), password="x", firstname="a", lastname="b", accounttype=0)
    status, err = error_of(e.value)
    assert status == 431
    assert err["errorcode"] == 431 and err["cserrorcode"] == 9999 and err["uuidList"] == [], err
    assert err["errortext"] == "Unable to execute API command createaccount due to missing parameter email"
    r = admin_keys.raw("createDomain", method=method)
    inner = assert_error(r, 431, "createdomainresponse")
    assert inner["errortext"] == "Unable to execute API command createdomain due to missing parameter name"
    assert r.headers.get("X-Description") in (None, inner["errortext"])


@pytest.mark.parametrize("command,params", [
    ("deleteAccount", {}),
    ("updateUser", {"firstname": "x"}),
    ("registerUserKeys", {}),
    ("updateDomain", {"name": "x"}),
])
def test_unknown_uuid_is_431_with_cloudstack_wording(admin_keys, command, params):
    bogus = str(uuid.uuid4())
    r = admin_keys.raw(command, id=bogus, **params)
    inner = assert_error(r, 431, f"{command.lower()}response")
    assert list(r.json()) == [f"{command.lower()}response"]
    text = inner["errortext"]
    assert text.startswith(f"Unable to execute API command {command.lower()} due to invalid value"), text
    assert f"Invalid parameter id value={bogus} due to incorrect long value format, or entity does not exist" in text, text


def test_unknown_command(admin_keys):
    r = admin_keys.raw("noSuchCommandAnywhere")
    assert r.status_code in (401, 432), r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert len(body) == 1
    inner = next(iter(body.values()))
    assert inner["errorcode"] == r.status_code


def test_content_type_is_json_everywhere(server, admin_keys):
    ep = server.endpoint
    answers = {
        "ok-get": admin_keys.raw("listDomains"),
        "ok-post": admin_keys.raw("listDomains", method="post"),
        "empty-list": admin_keys.raw("listAccounts", name=unique("none"), listall="true"),
        "unknown-uuid-async": admin_keys.raw("deleteAccount", id=str(uuid.uuid4())),
        "401": requests.get(ep, params=signed_params(admin_keys.key, "bad", "listUsers"), timeout=30),
        "431": admin_keys.raw("createAccount"),
        "531": requests.post(ep, data={"command": "login", "username": "admin", "password": "bad", "response": "json"}, timeout=30),
        "no-auth": requests.get(ep, params={"command": "listUsers", "response": "json"}, timeout=30),
        "login": requests.post(ep, data={"command": "login", "username": "admin", "password": ADMIN_PASSWORD, "response": "json"}, timeout=30),
        "unknown-command": admin_keys.raw("frobnicate"),
        "trailing-slash": requests.get(ep + "/", params=signed_params(admin_keys.key, admin_keys.secret, "listDomains"), timeout=30),
    }
    wrong = {k: (r.status_code, r.headers.get("Content-Type")) for k, r in answers.items()
             if not r.headers.get("Content-Type", "").startswith("application/json")}
    assert not wrong, f"non-JSON content type: {wrong}"
    for k, r in answers.items():
        body = r.json()
        assert isinstance(body, dict) and len(body) == 1, (k, body)
    assert answers["trailing-slash"].status_code == 200


def test_cs_cli_reports_error(cs_cli):
    proc, out = cs_cli("createAccount", "username=x", "password=y", "firstname=a", "lastname=b")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "HTTP 431 response from CloudStack" in proc.stderr
    assert out["createaccountresponse"]["errortext"].endswith("due to missing parameter email"), out


def test_sign_helper_matches_reference_vector():
    assert sign({"apiKey": "test-api-key", "command": "listUsers", "response": "json"}, "test-secret-key") == \
        "hAOHr/DycFdS/I0W/SW7g7I1jQI="
    assert sign({"command": "listZones", "apiKey": "test-api-key", "response": "json", "name": "a~b c+d/e"},
                "test-secret-key") == "cW7NbYBYCcuHyAGVx/8iL0JdpCI="


def test_new_account_cannot_log_in_with_wrong_domain(admin, server):
    d = admin.createDomain(name=unique("ld"))["domain"]
    a = new_account(admin, domainid=d["id"], password="Right-pw-1")
    uname = a["user"][0]["username"]
    r = requests.post(server.endpoint, data={"command": "login", "username": uname, "password": "Right-pw-1",
                                             "domain": "/", "response": "json"}, timeout=30)
    assert r.status_code == 531, r.text
    s, lr = login(server.endpoint, uname, "Right-pw-1", domain=f"/{d['name']}/")
    assert lr["account"] == a["name"] and lr["type"] == "0"


# --------------------------------------------------------------------------- request decoding details (§1.1, §1.6)


def test_login_via_get_is_405(server):
    r = requests.get(server.endpoint, params={"command": "login", "username": "admin", "password": ADMIN_PASSWORD,
                                              "response": "json"}, timeout=30)
    assert r.status_code == 405, r.text
    assert "sessionkey" not in r.text


def test_command_name_is_case_sensitive(admin_keys):
    r = admin_keys.raw("listaccounts")
    assert r.status_code in (401, 432), r.text
    assert r.headers["Content-Type"].startswith("application/json")


def test_booleans_case_insensitive(admin_keys, admin):
    a = new_account(admin)
    for value in ("true", "True", "TRUE"):
        r = admin_keys.raw("listAccounts", listall=value, name=a["name"])
        assert r.status_code == 200, r.text
        assert r.json()["listaccountsresponse"]["count"] == 1, (value, r.text)


def test_pagesize_limits(admin_keys):
    r = admin_keys.raw("listAccounts", page="1", pagesize="501")
    assert_error(r, 431, "listaccountsresponse")
    r = admin_keys.raw("listAccounts", pagesize="-1", listall="true")  # unlimited
    assert r.status_code == 200, r.text
    assert r.json()["listaccountsresponse"]["count"] >= 1
    r = admin_keys.raw("listAccounts", page="x", pagesize="2")
    assert_error(r, 431)


def test_control_characters_rejected(admin_keys):
    r = admin_keys.raw("createDomain", name="bad\x01name")
    assert_error(r, 431, "createdomainresponse")


@pytest.mark.parametrize("command,params,key", [
    ("listUsers", {"username": "nobody-here"}, "user"),
    ("listDomains", {"name": "nowhere-here"}, "domain"),
    ("listEvents", {"type": "NO.SUCH.EVENT"}, "event"),
    ("listAccounts", {"name": "nobody-here", "state": "enabled"}, "account"),
])
def test_empty_list_shapes(admin_keys, admin, command, params, key):
    r = admin_keys.raw(command, listall="true", **params)
    assert r.status_code == 200, r.text
    assert r.json() == {f"{command.lower()}response": {}}, r.text
    assert getattr(admin, command)(listall=True, fetch_list=True, **params) == []


def test_failed_async_job_shape_or_clear_4xx(admin):
    """deleteDomain without cleanup on a domain that still has accounts must not delete it and never 530."""
    d = admin.createDomain(name=unique("busy"))["domain"]
    new_account(admin, domainid=d["id"])
    try:
        sub = admin.deleteDomain(id=d["id"], cleanup=False)
    except cs.CloudStackApiException as e:
        status, err = error_of(e)
        assert 400 <= status < 500 or status in (531, 535), err
    else:
        job = admin.queryAsyncJobResult(jobid=sub["jobid"])
        deadline = time.monotonic() + 30
        while job["jobstatus"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            job = admin.queryAsyncJobResult(jobid=sub["jobid"])
        assert job["jobstatus"] == 2, f"deleting a non-empty domain without cleanup succeeded: {job}"
        assert job["jobresultcode"] == job["jobresult"]["errorcode"] and job["jobresultcode"] != 530, job
        assert set(job["jobresult"]) == {"errorcode", "errortext"}, job
        assert job.get("jobresulttype") in (None, "object"), job
    assert admin.listDomains(id=d["id"])["count"] == 1
