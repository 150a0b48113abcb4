//! Test harness: start the whole server on port 0 with a temporary SQLite file (or a fresh
//! PostgreSQL database when FERROSTACK_TEST_DATABASE_URL is set), log in as admin, get API
//! keys, and drive the real HTTP API with signed requests.

#![allow(dead_code)]

use std::sync::{Arc, RwLock};

use base64::Engine as _;
use ferrostack_app::App;
use ferrostack_server::config::Config;
use ferrostack_server::{Quiescer, RunningServer};
use hmac::{Hmac, Mac};
use serde_json::Value;

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub dir: tempfile::TempDir,
    pub database: String,
    pub url: String,
    pub admin: Client,
    /// Shared with every client this server made; points at the running server's app.
    handle: AppHandle,
    pg_cleanup: Option<(String, String)>,
}

/// The running server's quiescing hook (and application), shared by the test server and its
/// clients and replaced on restart, so a client can run background work to quiescence before
/// it reads a result.
pub type AppHandle = Arc<RwLock<Option<Quiescer>>>;

/// A client holding one user's API keys.
#[derive(Clone)]
pub struct Client {
    pub url: String,
    pub api_key: String,
    pub secret: String,
    http: reqwest::Client,
    app: AppHandle,
}

/// One answer: HTTP status, content type and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// The object under the single `<command>response` key.
    pub fn inner(&self) -> &Value {
        let m = self.body.as_object().expect("answer is an object");
        assert_eq!(m.len(), 1, "exactly one top-level key: {}", self.text);
        m.values().next().unwrap()
    }
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "expected success, got {}", self.text);
        self.inner()
    }
    pub fn err(&self, code: u16) -> String {
        assert_eq!(self.status, code, "expected {code}, got {}", self.text);
        assert_eq!(self.inner()["errorcode"].as_u64(), Some(code as u64), "{}", self.text);
        self.inner()["errortext"].as_str().unwrap().to_string()
    }
    /// Items of a list answer (`[]` for the empty `{}` shape).
    pub fn items(&self, key: &str) -> Vec<Value> {
        self.ok()
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
}

/// Java URLEncoder + `+`→`%20`, the server's canonical form.
pub fn java_encode(v: &str) -> String {
    let mut o = String::new();
    for b in v.as_bytes() {
        match *b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => o.push(*b as char),
            b' ' => o.push_str("%20"),
            other => o.push_str(&format!("%{other:02X}")),
        }
    }
    o
}

pub fn sign(params: &[(String, String)], secret: &str) -> String {
    let mut sorted: Vec<_> = params.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let canon = sorted
        .iter()
        .map(|(k, v)| format!("{k}={}", java_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(canon.to_lowercase().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn query(params: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        body,
        text,
    }
}

impl Client {
    pub fn new(url: &str, api_key: &str, secret: &str) -> Client {
        Client {
            url: url.into(),
            api_key: api_key.into(),
            secret: secret.into(),
            http: reqwest::Client::new(),
            app: AppHandle::default(),
        }
    }

    /// The same keys, able to quiesce the server behind `app` (see [`Client::wait_job`]).
    pub fn with_app(mut self, app: &AppHandle) -> Client {
        self.app = app.clone();
        self
    }

    /// The running server's application, when this client was made by a [`TestServer`].
    pub fn app(&self) -> Option<Arc<App>> {
        self.quiescer().map(|q| q.app().clone())
    }

    pub fn quiescer(&self) -> Option<Quiescer> {
        self.app.read().expect("app handle").clone()
    }

    /// Run pending jobs and due follow-ups to quiescence (no-op without a server handle).
    pub async fn quiesce(&self) {
        if let Some(q) = self.quiescer() {
            q.quiesce().await.expect("quiesce");
        }
    }

    pub fn signed(&self, command: &str, params: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = vec![
            ("command".into(), command.into()),
            ("response".into(), "json".into()),
            ("apiKey".into(), self.api_key.clone()),
        ];
        p.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let sig = sign(&p, &self.secret);
        p.push(("signature".into(), sig));
        p
    }

    /// Signed GET.
    pub async fn get(&self, command: &str, params: &[(&str, &str)]) -> Answer {
        let q = query(&self.signed(command, params));
        answer(self.http.get(format!("{}?{q}", self.url)).send().await.unwrap()).await
    }

    /// Signed POST with a form body.
    pub async fn post(&self, command: &str, params: &[(&str, &str)]) -> Answer {
        let body = query(&self.signed(command, params));
        let r = self
            .http
            .post(&self.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    /// Raw GET with exactly these parameters (no signing).
    pub async fn raw(&self, params: &[(String, String)]) -> Answer {
        answer(
            self.http
                .get(format!("{}?{}", self.url, query(params)))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Submit an async command and wait for its job; returns the final job object.
    pub async fn run_async(&self, command: &str, params: &[(&str, &str)]) -> Value {
        let a = self.get(command, params).await;
        let jobid = a.ok()["jobid"]
            .as_str()
            .unwrap_or_else(|| panic!("no jobid: {}", a.text))
            .to_string();
        self.wait_job(&jobid).await
    }

    /// Run the server's jobs (and due follow-ups) to quiescence, then read the job's result
    /// once: a job that is due has finished by then, so there is nothing to poll for.
    pub async fn wait_job(&self, jobid: &str) -> Value {
        let q = self
            .quiescer()
            .expect("wait_job needs a client made by a running TestServer");
        q.quiesce().await.expect("quiesce");
        let a = self.get("queryAsyncJobResult", &[("jobid", jobid)]).await;
        let j = a.ok().clone();
        assert_ne!(
            j["jobstatus"].as_i64(),
            Some(0),
            "job {jobid} still pending after quiesce: {j}"
        );
        j
    }
}

/// Session login; returns (JSESSIONID, sessionkey, login body).
pub async fn login(url: &str, username: &str, password: &str, domain: &str) -> (u16, Option<(String, String)>, Value) {
    let body = query(&[
        ("command".into(), "login".into()),
        ("username".into(), username.into()),
        ("password".into(), password.into()),
        ("domain".into(), domain.into()),
        ("response".into(), "json".into()),
    ]);
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let v: Value = r.json().await.unwrap();
    let find = |name: &str| {
        cookies.iter().find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|r| r.split(';').next().unwrap().to_string())
        })
    };
    let sess = match (find("JSESSIONID"), find("sessionkey")) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    (status, sess, v)
}

/// A request on a session: cookies as given, parameters as given.
pub async fn session_get(url: &str, cookies: &str, params: &[(&str, &str)]) -> Answer {
    let p: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let r = reqwest::Client::new()
        .get(format!("{url}?{}", query(&p)))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap();
    answer(r).await
}

async fn fresh_database(dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match std::env::var("FERROSTACK_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            use sqlx::Connection;
            let name = format!("ferrostack_t_{}", uuid::Uuid::new_v4().simple());
            let mut c = sqlx::PgConnection::connect(&base)
                .await
                .expect("connect to FERROSTACK_TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await
                .unwrap();
            let url = match base.rfind('/') {
                Some(i) if i > "postgres://".len() => format!("{}/{name}", &base[..i]),
                _ => panic!("FERROSTACK_TEST_DATABASE_URL must end with /<database>"),
            };
            (url, Some((base, name)))
        }
        _ => (format!("sqlite://{}", dir.join("ferrostack.db").display()), None),
    }
}

pub fn config(dir: &std::path::Path, database: &str, step_delay_ms: u64) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database: database.to_string(),
        session_timeout_secs: 1800,
        job_workers: 8,
        job_step_delay_ms: step_delay_ms,
        startup_reconcile_secs: ferrostack_server::config::DEFAULT_STARTUP_RECONCILE_SECS,
        log: None,
    }
}

impl TestServer {
    /// Run pending jobs and due follow-ups to quiescence (no sleeps): assert after the work.
    pub async fn quiesce(&self) {
        self.server
            .as_ref()
            .expect("server running")
            .quiesce()
            .await
            .expect("quiesce");
    }

    pub fn app(&self) -> &App {
        &self.server.as_ref().expect("server running").app
    }

    pub async fn start() -> TestServer {
        TestServer::start_with_delay(0).await
    }

    pub async fn start_with_delay(step_delay_ms: u64) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let (database, pg_cleanup) = fresh_database(dir.path()).await;
        TestServer::start_on(dir, database, pg_cleanup, step_delay_ms).await
    }

    /// A server on the embedded SQLite database in `dir` (whatever the test database is).
    pub async fn start_sqlite_in(dir: tempfile::TempDir) -> TestServer {
        let database = format!("sqlite://{}", dir.path().join("ferrostack.db").display());
        TestServer::start_on(dir, database, None, 0).await
    }

    async fn start_on(
        dir: tempfile::TempDir,
        database: String,
        pg_cleanup: Option<(String, String)>,
        step_delay_ms: u64,
    ) -> TestServer {
        let server = ferrostack_server::start(&config(dir.path(), &database, step_delay_ms))
            .await
            .unwrap();
        let url = server.url();
        let handle: AppHandle = Arc::new(RwLock::new(Some(server.quiescer())));
        let admin = admin_client(&url).await.with_app(&handle);
        TestServer {
            server: Some(server),
            dir,
            database,
            url,
            admin,
            handle,
            pg_cleanup,
        }
    }

    /// Stop (gracefully or by killing the tasks) and start again on the same database.
    pub async fn restart(&mut self, kill: bool, step_delay_ms: u64) {
        self.shut_down(kill).await;
        self.start_again(step_delay_ms).await;
    }

    /// The first half of [`TestServer::restart`]: stop the server (gracefully or by killing
    /// its tasks), keeping its data directory and database.
    pub async fn shut_down(&mut self, kill: bool) {
        let s = self.server.take().expect("server running");
        *self.handle.write().expect("app handle") = None;
        if kill {
            s.kill().await;
        } else {
            s.stop().await;
        }
    }

    /// The second half of [`TestServer::restart`]: start on the same data directory and database.
    pub async fn start_again(&mut self, step_delay_ms: u64) {
        let s = ferrostack_server::start(&config(self.dir.path(), &self.database, step_delay_ms))
            .await
            .unwrap();
        self.url = s.url();
        self.admin.url = self.url.clone();
        *self.handle.write().expect("app handle") = Some(s.quiescer());
        self.server = Some(s);
    }

    /// Create an account (type 0 user, 2 domain admin) in a domain and return a client with its keys.
    pub async fn account_client(&self, name: &str, account_type: &str, domain_id: &str) -> (Value, Client) {
        let a = self
            .admin
            .post(
                "createAccount",
                &[
                    ("username", name),
                    ("password", "pw-123"),
                    ("firstname", "F"),
                    ("lastname", "L"),
                    ("email", "x@example.com"),
                    ("accounttype", account_type),
                    ("domainid", domain_id),
                ],
            )
            .await;
        let account = a.ok()["account"].clone();
        let uid = account["user"][0]["id"].as_str().unwrap().to_string();
        let k = self.admin.get("registerUserKeys", &[("id", &uid)]).await;
        let keys = &k.ok()["userkeys"];
        let c = Client::new(
            &self.url,
            keys["apikey"].as_str().unwrap(),
            keys["secretkey"].as_str().unwrap(),
        )
        .with_app(&self.handle);
        (account, c)
    }

    pub async fn create_domain(&self, name: &str, parent: Option<&str>) -> Value {
        let mut p = vec![("name", name)];
        if let Some(pid) = parent {
            p.push(("parentdomainid", pid));
        }
        self.admin.get("createDomain", &p).await.ok()["domain"].clone()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            *self.handle.write().expect("app handle") = None;
            s.stop().await;
        }
        if let Some((base, name)) = self.pg_cleanup.take() {
            drop_database(&base, &name).await;
        }
    }
}

async fn drop_database(base: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut c) = sqlx::PgConnection::connect(base).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
    }
}

/// A test that fails (or forgets `stop`) still drops its PostgreSQL database: on a thread of
/// its own, since the test's runtime may be unwinding.
impl Drop for TestServer {
    fn drop(&mut self) {
        let Some((base, name)) = self.pg_cleanup.take() else {
            return;
        };
        let dropper = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(drop_database(&base, &name));
            }
        });
        let _ = dropper.join();
    }
}

pub async fn admin_client(url: &str) -> Client {
    let (status, sess, body) = login(url, "admin", "password", "/").await;
    assert_eq!(status, 200, "{body}");
    let (sid, key) = sess.expect("login cookies");
    let uid = body["loginresponse"]["userid"].as_str().unwrap().to_string();
    let cookies = format!("JSESSIONID={sid}; sessionkey={key}");
    let a = session_get(
        url,
        &cookies,
        &[
            ("command", "registerUserKeys"),
            ("id", &uid),
            ("sessionkey", &key),
            ("response", "json"),
        ],
    )
    .await;
    let keys = &a.ok()["userkeys"];
    Client::new(
        url,
        keys["apikey"].as_str().unwrap(),
        keys["secretkey"].as_str().unwrap(),
    )
}

/// Finish the simulated download of template `uuid` in every zone now. A download takes
/// `DOWNLOAD_MS` of wall-clock time and the server advances downloads once a second; instead of
/// waiting, move the deadline of the rows still in progress to their start and run the same
/// tick the server runs (`App::template_downloads_tick`), so the download completes through
/// the code path it always takes.
pub async fn finish_downloads(app: &App, uuid: &str) {
    sqlx::query(
        "UPDATE template_zone SET ready_at = download_started WHERE download_pct < 100 \
         AND download_started IS NOT NULL AND ready_at IS NOT NULL \
         AND template_id IN (SELECT id FROM vm_template WHERE uuid = $1)",
    )
    .bind(uuid)
    .execute(app.db.write())
    .await
    .expect("rewind the download clock");
    app.template_downloads_tick().await.expect("template download tick");
}
