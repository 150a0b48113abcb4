//! Answers on the wire: the `<command>response` envelope in JSON (or XML), the empty-list
//! shape, async submissions, and the error envelope whose HTTP status equals `errorcode`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrostack_types::Error;
use serde_json::{json, Map, Value};

pub const JSON_TYPE: &str = "application/json; charset=UTF-8";
pub const XML_TYPE: &str = "text/xml; charset=UTF-8";
pub const VERSION: &str = "4.22.0.0";

/// What a handler answers, before the envelope.
#[derive(Debug)]
pub enum Reply {
    List {
        key: &'static str,
        count: i64,
        items: Vec<Value>,
    },
    Object {
        key: &'static str,
        value: Value,
    },
    Success,
    /// An async submission: `jobid`, plus `id` for async creates.
    Job {
        job_id: String,
        id: Option<String>,
    },
    /// A flat object (`loginresponse`, `queryasyncjobresultresponse`).
    Flat(Map<String, Value>),
}

impl Reply {
    pub fn list(key: &'static str, count: i64, items: Vec<Value>) -> Reply {
        Reply::List { key, count, items }
    }
    pub fn object(key: &'static str, value: Value) -> Reply {
        Reply::Object { key, value }
    }

    pub fn body(self) -> Value {
        match self {
            Reply::List { items, .. } if items.is_empty() => json!({}),
            Reply::List { key, count, items } => {
                let mut m = Map::new();
                m.insert("count".into(), json!(count));
                m.insert(key.into(), Value::Array(items));
                Value::Object(m)
            }
            Reply::Object { key, value } => {
                let mut m = Map::new();
                m.insert(key.into(), value);
                Value::Object(m)
            }
            Reply::Success => json!({"success": true}),
            Reply::Job { job_id, id } => match id {
                Some(id) => json!({"id": id, "jobid": job_id}),
                None => json!({"jobid": job_id}),
            },
            Reply::Flat(m) => Value::Object(m),
        }
    }
}

/// Commands whose CloudStack response name (the Java command's `s_name`) is not
/// `lowercase(command) + "response"`: clients look their answers up by that name.
const IRREGULAR_RESPONSE_KEYS: &[(&str, &str)] = &[("restoreVirtualMachine", "restorevmresponse")];

/// The top-level key: `lowercase(command) + "response"` (or the command's irregular name), or
/// `errorresponse`.
pub fn response_key(command: Option<&str>) -> String {
    match command {
        Some(c) => match IRREGULAR_RESPONSE_KEYS.iter().find(|(name, _)| *name == c) {
            Some((_, key)) => (*key).to_string(),
            None => format!("{}response", c.to_ascii_lowercase()),
        },
        None => "errorresponse".to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    pub fn from_param(v: Option<&str>) -> Format {
        match v {
            Some(v) if v.eq_ignore_ascii_case("json") => Format::Json,
            Some(_) | None => Format::Xml,
        }
    }
}

/// Render `{"<key>": body}` with the right content type.
pub fn render(format: Format, status: StatusCode, key: &str, body: Value) -> Response {
    let (text, ctype) = match format {
        Format::Json => {
            let mut m = Map::new();
            m.insert(key.to_string(), body);
            (Value::Object(m).to_string(), JSON_TYPE)
        }
        Format::Xml => (to_xml(key, &body), XML_TYPE),
    };
    let mut r = (status, text).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r.headers_mut()
        .insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

/// The error envelope; HTTP status = `errorcode`.
pub fn render_error(format: Format, command: Option<&str>, e: &Error) -> Response {
    let code = e.http_status();
    let text = e.client_message(command.unwrap_or(""));
    let mut body = Map::new();
    body.insert("uuidList".into(), json!([]));
    body.insert("errorcode".into(), json!(code));
    if let Some(cs) = e.cs_error_code() {
        body.insert("cserrorcode".into(), json!(cs));
    }
    body.insert("errortext".into(), json!(text));
    let key = response_key(command);
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = render(format, status, &key, Value::Object(body));
    // cloudmonkey shows X-Description for failed calls; keep it to one header-safe line.
    let desc: String = text
        .chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { ' ' })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&desc) {
        r.headers_mut().insert("x-description", v);
    }
    r
}

fn escape_xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

fn xml_value(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                xml_value(out, name, item);
            }
        }
        Value::Object(m) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in m {
                xml_value(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape_xml(s))),
        Value::Bool(_) | Value::Number(_) => out.push_str(&format!("<{name}>{v}</{name}>")),
    }
}

/// CloudStack's XML form: the response element carries `cloud-stack-version`, list items
/// repeat their element name.
pub fn to_xml(key: &str, body: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push_str(&format!("<{key} cloud-stack-version=\"{VERSION}\">"));
    if let Value::Object(m) = body {
        for (k, v) in m {
            xml_value(&mut out, k, v);
        }
    }
    out.push_str(&format!("</{key}>"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(Reply::list("zone", 0, vec![]).body(), json!({}));
        assert_eq!(
            Reply::list("zone", 7, vec![json!({"id":"a"})]).body().to_string(),
            r#"{"count":7,"zone":[{"id":"a"}]}"#
        );
        assert_eq!(Reply::Success.body(), json!({"success": true}));
        assert_eq!(
            Reply::Job {
                job_id: "j".into(),
                id: Some("e".into())
            }
            .body(),
            json!({"id":"e","jobid":"j"})
        );
        assert_eq!(response_key(Some("listZones")), "listzonesresponse");
        assert_eq!(response_key(Some("restoreVirtualMachine")), "restorevmresponse");
    }

    #[test]
    fn xml_lists_repeat_items() {
        let x = to_xml("listzonesresponse", &json!({"count":2,"zone":[{"id":"a"},{"id":"b<"}]}));
        assert_eq!(
            x,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><listzonesresponse cloud-stack-version=\"4.22.0.0\"><count>2</count><zone><id>a</id></zone><zone><id>b&lt;</id></zone></listzonesresponse>"
        );
    }
}
