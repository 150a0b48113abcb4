//! A CloudStack API client with HMAC-SHA1 request signatures (the same canonical form the
//! server checks: parameters sorted by name, values Java-URL-encoded, the whole string
//! lower-cased), plus the admin login that registers API keys.

use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;

/// One answer: HTTP status, the raw body size and the parsed JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub bytes: usize,
    pub body: Value,
}

impl Answer {
    /// The object under the single `<command>response` key (or the whole body).
    pub fn inner(&self) -> &Value {
        match self.body.as_object() {
            Some(m) if m.len() == 1 => m.values().next().unwrap_or(&Value::Null),
            Some(_) | None => &self.body,
        }
    }

    /// The inner object, or an error naming the command and the body.
    pub fn ok(&self, what: &str) -> Result<&Value, String> {
        if self.status == 200 {
            Ok(self.inner())
        } else {
            Err(format!("{what} failed with HTTP {}: {}", self.status, self.body))
        }
    }

    /// `count` of a list answer (0 for the empty `{}` answer).
    pub fn count(&self) -> i64 {
        self.inner().get("count").and_then(Value::as_i64).unwrap_or(0)
    }

    /// Number of items under `key` in a list answer.
    pub fn items_len(&self, key: &str) -> usize {
        self.inner()
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(0)
    }

    /// CloudStack's `errorcode` of an error answer.
    pub fn errorcode(&self) -> Option<i64> {
        self.inner().get("errorcode").and_then(Value::as_i64)
    }

    /// A string field of the inner object, by JSON pointer (e.g. `/zone/id`).
    pub fn str_at(&self, pointer: &str) -> Option<String> {
        self.inner()
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// Java `URLEncoder` with `+` → `%20`: the server's canonical form for signing.
fn java_encode(v: &str) -> String {
    let mut o = String::with_capacity(v.len());
    for b in v.as_bytes() {
        match *b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => o.push(*b as char),
            b' ' => o.push_str("%20"),
            other => o.push_str(&format!("%{other:02X}")),
        }
    }
    o
}

fn sign(params: &[(String, String)], secret: &str) -> Result<String, String> {
    let mut sorted: Vec<_> = params.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let canon = sorted
        .iter()
        .map(|(k, v)| format!("{k}={}", java_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(canon.to_lowercase().as_bytes());
    Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

fn query(params: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A client holding the admin's API keys.
#[derive(Clone)]
pub struct Client {
    pub url: String,
    api_key: String,
    secret: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for `url` with these keys and a connection pool of its own; requests that get
    /// no answer within `timeout` fail.
    pub fn with_keys(url: &str, api_key: &str, secret: &str, timeout: Duration) -> Result<Client, String> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(4)
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client {
            url: url.to_string(),
            api_key: api_key.to_string(),
            secret: secret.to_string(),
            http,
        })
    }

    /// The same keys with a connection pool of its own (one per load client).
    pub fn fork(&self, timeout: Duration) -> Result<Client, String> {
        Client::with_keys(&self.url, &self.api_key, &self.secret, timeout)
    }

    fn signed(&self, command: &str, params: &[(&str, &str)]) -> Result<String, String> {
        let mut p: Vec<(String, String)> = vec![
            ("command".into(), command.into()),
            ("response".into(), "json".into()),
            ("apiKey".into(), self.api_key.clone()),
        ];
        p.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let sig = sign(&p, &self.secret)?;
        p.push(("signature".into(), sig));
        Ok(query(&p))
    }

    /// Signed GET; also returns the wall time from sending to the last body byte.
    pub async fn timed_get(&self, command: &str, params: &[(&str, &str)]) -> Result<(Duration, Answer), String> {
        let q = self.signed(command, params)?;
        let request = self.http.get(format!("{}?{q}", self.url));
        timed(command, request).await
    }

    pub async fn get(&self, command: &str, params: &[(&str, &str)]) -> Result<Answer, String> {
        Ok(self.timed_get(command, params).await?.1)
    }

    /// Signed POST with a form body; also returns the wall time from sending to the last body byte.
    pub async fn timed_post(&self, command: &str, params: &[(&str, &str)]) -> Result<(Duration, Answer), String> {
        let body = self.signed(command, params)?;
        let request = self
            .http
            .post(&self.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        timed(command, request).await
    }

    /// Signed POST with a form body.
    pub async fn post(&self, command: &str, params: &[(&str, &str)]) -> Result<Answer, String> {
        Ok(self.timed_post(command, params).await?.1)
    }

    /// Wait for an async job; returns the final job object.
    pub async fn wait_job(&self, jobid: &str, timeout: Duration) -> Result<Value, String> {
        let t0 = Instant::now();
        loop {
            let a = self.get("queryAsyncJobResult", &[("jobid", jobid)]).await?;
            let j = a.ok("queryAsyncJobResult")?.clone();
            if j.get("jobstatus").and_then(Value::as_i64) != Some(0) {
                return Ok(j);
            }
            if t0.elapsed() > timeout {
                return Err(format!("job {jobid} did not finish within {timeout:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Submit an async command, wait for its job and require success.
    pub async fn run_async(&self, command: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let a = self.get(command, params).await?;
        let jobid = a
            .str_at("/jobid")
            .ok_or_else(|| format!("{command}: no jobid in {}", a.body))?;
        let j = self.wait_job(&jobid, Duration::from_secs(120)).await?;
        if j.get("jobstatus").and_then(Value::as_i64) != Some(1) {
            return Err(format!("{command} failed: {j}"));
        }
        Ok(j)
    }
}

/// Log in as `admin` (password `password`, domain `/`) and register API keys.
pub async fn admin_client(url: &str) -> Result<Client, String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()
        .map_err(|e| e.to_string())?;
    let login = query(&[
        ("command".into(), "login".into()),
        ("username".into(), "admin".into()),
        ("password".into(), "password".into()),
        ("domain".into(), "/".into()),
        ("response".into(), "json".into()),
    ]);
    let r = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(login)
        .send()
        .await
        .map_err(|e| format!("login: {e}"))?;
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let v: Value = r.json().await.map_err(|e| format!("login: {e}"))?;
    let find = |name: &str| {
        cookies.iter().find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .and_then(|r| r.split(';').next())
                .map(str::to_string)
        })
    };
    let (Some(sid), Some(key)) = (find("JSESSIONID"), find("sessionkey")) else {
        return Err(format!("login did not set session cookies: {v}"));
    };
    let uid = v
        .pointer("/loginresponse/userid")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("login: no userid in {v}"))?
        .to_string();
    let q = query(&[
        ("command".into(), "registerUserKeys".into()),
        ("id".into(), uid),
        ("sessionkey".into(), key.clone()),
        ("response".into(), "json".into()),
    ]);
    let r = http
        .get(format!("{url}?{q}"))
        .header("cookie", format!("JSESSIONID={sid}; sessionkey={key}"))
        .send()
        .await
        .map_err(|e| format!("registerUserKeys: {e}"))?;
    let v: Value = r.json().await.map_err(|e| format!("registerUserKeys: {e}"))?;
    let keys = v
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|r| r.get("userkeys"))
        .ok_or_else(|| format!("registerUserKeys: {v}"))?;
    let field = |k: &str| {
        keys.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("registerUserKeys: no {k} in {v}"))
    };
    Ok(Client {
        url: url.to_string(),
        api_key: field("apikey")?,
        secret: field("secretkey")?,
        http,
    })
}

/// Send a request and read its whole answer, timing send → last body byte.
async fn timed(command: &str, request: reqwest::RequestBuilder) -> Result<(Duration, Answer), String> {
    let t0 = Instant::now();
    let r = request.send().await.map_err(|e| format!("{command}: {e}"))?;
    let status = r.status().as_u16();
    let bytes = r.bytes().await.map_err(|e| format!("{command}: {e}"))?;
    let elapsed = t0.elapsed();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((
        elapsed,
        Answer {
            status,
            bytes: bytes.len(),
            body,
        },
    ))
}
