//! The `/client/api` endpoint: request decoding, authentication and dispatch.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use ferrostack_app::session::LoginDomain;
use ferrostack_app::{App, Caller};
use ferrostack_types::Error;
use futures::FutureExt;
use serde_json::{json, Map};

use crate::args::Args;
use crate::params::RawParams;
use crate::registry::{Registry, Shape};
use crate::reply::{render, render_error, response_key, Format, Reply};
use crate::resolve::Outcome;
use crate::{signature, Ctx};

pub struct ApiState {
    pub app: Arc<App>,
    pub registry: Arc<Registry>,
}

/// The HTTP router serving `/client/api` (with and without a trailing slash) and the
/// download links of extracted templates (`/client/extract/<uuid>/<token>`).
pub fn router(app: Arc<App>) -> Router {
    let state = Arc::new(ApiState {
        app,
        registry: Arc::new(crate::registry()),
    });
    Router::new()
        .route("/client/api", any(handle))
        .route("/client/api/", any(handle))
        .route(
            &format!("{}/{{uuid}}/{{token}}", ferrostack_app::template::EXTRACT_PATH),
            get(crate::extract::download),
        )
        // User data may be 1 MiB after base64, plus the rest of the form.
        .layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024))
        .with_state(state)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

const BAD_CREDENTIALS: &str = "unable to verify user credentials and/or request signature";

async fn handle(
    State(state): State<Arc<ApiState>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("application/x-www-form-urlencoded"));
    let body = if method == Method::POST && is_form && !body.is_empty() {
        Some(&body[..])
    } else {
        None
    };
    let raw = RawParams::parse(query.as_deref(), body);
    let format = Format::from_param(raw.get("response"));
    let command = raw.get("command").map(str::to_string);
    let started = std::time::Instant::now();
    let resp =
        ferrostack_app::db_discipline_scope(dispatch(&state, &method, &headers, raw, format, command.as_deref())).await;
    tracing::info!(
        target: "ferrostack::api",
        command = command.as_deref().unwrap_or("-"),
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "api request"
    );
    resp
}

async fn dispatch(
    state: &ApiState,
    method: &Method,
    headers: &HeaderMap,
    raw: RawParams,
    format: Format,
    command: Option<&str>,
) -> Response {
    if let Some(name) = raw.control_char_param() {
        let e = Error::invalid(format!(
            "Parameter {name} contains control characters; remove them and retry"
        ));
        return render_error(format, command, &e);
    }
    let Some(command) = command else {
        let e = Error::unsupported("Invalid request, no command sent; give command=<API name>");
        return render_error(format, None, &e);
    };
    if command == "login" {
        return login(state, method, &raw, format).await;
    }
    if command == "logout" {
        return logout(state, headers, &raw, format).await;
    }
    let caller = match authenticate(state, headers, &raw).await {
        Ok(c) => c,
        Err(e) => {
            let key = if state.registry.get(command).is_some() {
                Some(command)
            } else {
                None
            };
            return render_error(format, key, &e);
        }
    };
    let Some(cmd) = state.registry.get(command).filter(|c| c.access.allows(caller.role)) else {
        let e = Error::Unauthorized(format!(
            "The given command {command} does not exist or it is not available for user {}; run listApis to see the commands you may call",
            caller.username
        ));
        return render_error(format, None, &e);
    };
    let mut args = match Args::validate(cmd, raw) {
        Ok(a) => a,
        Err(e) => return render_error(format, Some(command), &e),
    };
    if let Shape::List(key) = cmd.shape {
        match crate::resolve::list_filters(&state.app, &caller, cmd, &mut args).await {
            Ok(Outcome::Run) => {}
            Ok(Outcome::Empty) => {
                let empty = Reply::list(key, 0, Vec::new());
                return render(format, StatusCode::OK, &response_key(Some(command)), empty.body());
            }
            Err(e) => return render_error(format, Some(command), &e),
        }
    }
    let ctx = Ctx {
        app: state.app.clone(),
        caller,
        registry: state.registry.clone(),
        job: cmd.job_meta(),
    };
    let result = AssertUnwindSafe((cmd.handler)(&ctx, args))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(Error::internal(format!("panic in handler of {command}"))));
    match result {
        Ok(reply) => render(format, StatusCode::OK, &response_key(Some(command)), reply.body()),
        Err(e) => {
            if let Error::Internal { correlation_id, detail } = &e {
                tracing::error!(%correlation_id, %detail, command, "internal error");
            } else {
                tracing::debug!(error = %e, command, "command refused");
            }
            render_error(format, Some(command), &e)
        }
    }
}

/// API-key signature first (what every scripted client uses), then the session cookie with
/// its session key, which must come as a parameter: a cookie alone is refused (CSRF).
async fn authenticate(state: &ApiState, headers: &HeaderMap, raw: &RawParams) -> Result<Caller, Error> {
    let unauthorized = || Error::Unauthorized(BAD_CREDENTIALS.into());
    if let (Some(api_key), Some(sig)) = (raw.get("apikey"), raw.get("signature")) {
        let (caller, secret) = state.app.session_key_owner(api_key).await?.ok_or_else(unauthorized)?;
        if !signature::verify(&raw.pairs, &secret, sig) {
            return Err(unauthorized());
        }
        if raw.get("signatureversion") == Some("3") {
            check_expires(state, raw.get("expires")).await?;
        }
        return Ok(caller);
    }
    if let Some(sid) = cookie(headers, "JSESSIONID") {
        let key = raw
            .get("sessionkey")
            .ok_or_else(|| Error::Unauthorized("unable to verify user credentials".into()))?;
        if let Some(cookie_key) = cookie(headers, "sessionkey") {
            if cookie_key != key {
                return Err(Error::Unauthorized("unable to verify user credentials".into()));
            }
        }
        return state.app.session_caller(sid, key).await;
    }
    Err(unauthorized())
}

/// The setting bounding how far ahead a `signatureVersion=3` request may expire.
const EXPIRES_MAX_SETTING: &str = "api.signature.expires.max.seconds";

/// `signatureVersion=3`: `expires` must be given, parse, lie in the future (as CloudStack
/// checks) and not further ahead than [`EXPIRES_MAX_SETTING`] allows (ferrostack: a signed URL
/// that leaks can be replayed only until it expires, so that time is bounded).
async fn check_expires(state: &ApiState, expires: Option<&str>) -> Result<(), Error> {
    let unauthorized = || Error::Unauthorized(BAD_CREDENTIALS.into());
    let expires = expires.ok_or_else(unauthorized)?;
    let t = ferrostack_types::time::parse_tz(expires).ok_or_else(unauthorized)?;
    let now = chrono::Utc::now();
    if t < now {
        return Err(Error::Unauthorized(format!(
            "{BAD_CREDENTIALS}: the request expired at {expires}; sign it again with a later expires"
        )));
    }
    let max = state.app.config_i64(EXPIRES_MAX_SETTING, None).await?;
    if t > now + chrono::Duration::seconds(max) {
        return Err(Error::Unauthorized(format!(
            "{BAD_CREDENTIALS}: expires {expires} is more than {max} seconds ahead \
             ({EXPIRES_MAX_SETTING}); sign the request again with an expires at most that far in the future"
        )));
    }
    Ok(())
}

async fn login(state: &ApiState, method: &Method, raw: &RawParams, format: Format) -> Response {
    if method != Method::POST {
        let mut r = (
            StatusCode::METHOD_NOT_ALLOWED,
            "Please use HTTP POST to authenticate using this API",
        )
            .into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        return r;
    }
    let (Some(username), Some(password)) = (raw.get("username"), raw.get("password")) else {
        let missing = if raw.get("username").is_none() {
            "username"
        } else {
            "password"
        };
        return render_error(format, Some("login"), &Error::missing(missing));
    };
    let domain = match raw.get("domainid") {
        Some(d) if !d.is_empty() => LoginDomain::Uuid(d.to_string()),
        Some(_) | None => LoginDomain::Path(raw.get("domain").unwrap_or("/").to_string()),
    };
    let r = match state.app.session_login(username, password, domain).await {
        Ok(r) => r,
        Err(e) => return render_error(format, Some("login"), &e),
    };
    let u = &r.user;
    let mut m = Map::new();
    m.insert("username".into(), json!(u.username));
    m.insert("userid".into(), json!(u.uuid));
    m.insert("domainid".into(), json!(u.domain_uuid));
    m.insert("timeout".into(), json!(state.app.config.session_timeout_secs));
    m.insert("account".into(), json!(u.account_name));
    m.insert("firstname".into(), json!(u.firstname));
    m.insert("lastname".into(), json!(u.lastname));
    m.insert("type".into(), json!(u.account_type.to_string()));
    if let Some(tz) = &u.timezone {
        m.insert("timezone".into(), json!(tz));
    }
    m.insert("registered".into(), json!("false"));
    m.insert("sessionkey".into(), json!(r.session_key));
    m.insert("is2faenabled".into(), json!("false"));
    m.insert("is2faverified".into(), json!("true"));
    if u.role_type() == ferrostack_types::RoleType::Admin {
        m.insert("managementserverid".into(), json!(state.app.config.msid));
    }
    let mut resp = render(format, StatusCode::OK, "loginresponse", Reply::Flat(m).body());
    for c in [
        format!("JSESSIONID={}; Path=/client; HttpOnly", r.session_id),
        format!("sessionkey={}; Path=/client; HttpOnly", r.session_key),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// `logout`. A session is ended only when its session key comes with the cookie, as for every
/// other command (a cookie alone must not log anyone out: CSRF); otherwise 401 and the session
/// stays valid. A signed API-key request has no session: as in CloudStack it is answered with
/// success and ends nothing (its signature is still checked). A request with no credentials
/// at all has nothing to end and is answered with success too, as CloudStack does.
async fn logout(state: &ApiState, headers: &HeaderMap, raw: &RawParams, format: Format) -> Response {
    let mut ended = false;
    if raw.get("apikey").is_some() && raw.get("signature").is_some() {
        if let Err(e) = authenticate(state, headers, raw).await {
            return render_error(format, Some("logout"), &e);
        }
    } else if let Some(sid) = cookie(headers, "JSESSIONID") {
        let refused = || {
            Error::Unauthorized(
                "unable to verify user credentials; give the sessionkey of the session to log out".into(),
            )
        };
        let Some(key) = raw.get("sessionkey") else {
            return render_error(format, Some("logout"), &refused());
        };
        if cookie(headers, "sessionkey").is_some_and(|c| c != key) {
            return render_error(format, Some("logout"), &refused());
        }
        if let Err(e) = state.app.session_logout(sid, key).await {
            return render_error(format, Some("logout"), &e);
        }
        ended = true;
    }
    let mut resp = render(
        format,
        StatusCode::OK,
        "logoutresponse",
        json!({"description": "success"}),
    );
    for name in ["JSESSIONID", "sessionkey"] {
        if ended && cookie(headers, name).is_some() {
            if let Ok(v) = HeaderValue::from_str(&format!("{name}=; Path=/client; Max-Age=0")) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
    }
    resp
}
