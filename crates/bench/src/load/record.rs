//! What one load client saw, per API command: HTTP request latencies, async job completion
//! latencies, errors by HTTP status / CloudStack errorcode (with one example message each);
//! merged over all clients into the report's rows.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::client::Answer;
use crate::measure::{percentile, sorted_ms};

/// A request slower than this counts as a stall.
pub const SLOW: Duration = Duration::from_secs(2);

/// How an async job ended, as its follower saw it.
#[derive(Debug, Clone)]
pub enum JobEnd {
    Succeeded,
    /// jobstatus 2: the job's error code (jobresult.errorcode, else jobresultcode) and text.
    Failed {
        code: i64,
        text: String,
    },
    /// Still pending when the follower gave up.
    TimedOut,
}

#[derive(Debug, Default)]
struct Errors(BTreeMap<String, (usize, String)>);

impl Errors {
    fn add(&mut self, key: String, example: impl FnOnce() -> String) {
        self.0.entry(key).or_insert_with(|| (0, example())).0 += 1;
    }
}

#[derive(Debug, Default)]
struct Samples {
    http: Vec<Duration>,
    job: Vec<Duration>,
    jobs_ok: usize,
    jobs_failed: usize,
    responses_5xx: usize,
    transport_errors: usize,
    errors: Errors,
}

/// One client's (or, merged, every client's) observations.
#[derive(Debug, Default)]
pub struct Recorder {
    commands: BTreeMap<&'static str, Samples>,
    /// Operations drawn from the mix, by name (a fallback is counted under what ran).
    pub ops: BTreeMap<String, usize>,
}

fn text_of(v: &Value) -> String {
    let s = v.get("errortext").and_then(Value::as_str).map(str::to_string);
    let mut s = s.unwrap_or_else(|| v.to_string());
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

impl Recorder {
    /// One HTTP request of `command` and what came back (an `Err` is a transport failure:
    /// connection refused or reset, or no answer within the request timeout).
    pub fn request(&mut self, command: &'static str, took: Duration, answer: &Result<Answer, String>) {
        let s = self.commands.entry(command).or_default();
        s.http.push(took);
        match answer {
            Ok(a) if a.status == 200 => {}
            Ok(a) => {
                if a.status >= 500 {
                    s.responses_5xx += 1;
                }
                let key = match a.errorcode() {
                    Some(code) => format!("HTTP {} errorcode {code}", a.status),
                    None => format!("HTTP {}", a.status),
                };
                s.errors.add(key, || text_of(a.inner()));
            }
            Err(e) => {
                s.transport_errors += 1;
                s.errors.add("transport".into(), || e.clone());
            }
        }
    }

    /// An async job of `command`, from its submit to the poll that saw it end.
    pub fn job(&mut self, command: &'static str, took: Duration, end: &JobEnd) {
        let s = self.commands.entry(command).or_default();
        s.job.push(took);
        match end {
            JobEnd::Succeeded => s.jobs_ok += 1,
            JobEnd::Failed { code, text } => {
                s.jobs_failed += 1;
                s.errors.add(format!("job errorcode {code}"), || text.clone());
            }
            JobEnd::TimedOut => {
                s.jobs_failed += 1;
                s.errors.add("job not finished".into(), || {
                    format!("still pending after {:.0} s", took.as_secs_f64())
                });
            }
        }
    }

    pub fn op(&mut self, name: &str) {
        *self.ops.entry(name.to_string()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Recorder) {
        for (cmd, o) in other.commands {
            let s = self.commands.entry(cmd).or_default();
            s.http.extend(o.http);
            s.job.extend(o.job);
            s.jobs_ok += o.jobs_ok;
            s.jobs_failed += o.jobs_failed;
            s.responses_5xx += o.responses_5xx;
            s.transport_errors += o.transport_errors;
            for (k, (n, ex)) in o.errors.0 {
                s.errors.0.entry(k).or_insert((0, ex)).0 += n;
            }
        }
        for (op, n) in other.ops {
            *self.ops.entry(op).or_default() += n;
        }
    }

    /// One row per command, in name order.
    pub fn rows(&self) -> Vec<CommandRow> {
        self.commands
            .iter()
            .map(|(cmd, s)| CommandRow {
                command: cmd.to_string(),
                requests: s.http.len(),
                http: Latency::of(&s.http),
                over_2s: s.http.iter().filter(|d| **d > SLOW).count(),
                responses_5xx: s.responses_5xx,
                transport_errors: s.transport_errors,
                job: (!s.job.is_empty()).then(|| JobRow {
                    finished: s.job.len(),
                    succeeded: s.jobs_ok,
                    failed: s.jobs_failed,
                    latency: Latency::of(&s.job),
                }),
                errors: s
                    .errors
                    .0
                    .iter()
                    .map(|(k, (n, ex))| ErrorCount {
                        key: k.clone(),
                        count: *n,
                        example: ex.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Nearest-rank percentiles of a set of latencies.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(samples: &[Duration]) -> Latency {
        let v = sorted_ms(samples);
        Latency {
            count: v.len(),
            p50_ms: percentile(&v, 0.5),
            p95_ms: percentile(&v, 0.95),
            p99_ms: percentile(&v, 0.99),
            max_ms: v.last().copied().unwrap_or(0.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    /// Jobs followed to an end (or given up on).
    pub finished: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Submit → the poll that saw the job end.
    pub latency: Latency,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorCount {
    /// `HTTP <status> errorcode <code>`, `job errorcode <code>`, `job not finished` or `transport`.
    pub key: String,
    pub count: usize,
    /// The first message seen under this key.
    pub example: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandRow {
    pub command: String,
    pub requests: usize,
    /// The HTTP request (send → last body byte).
    pub http: Latency,
    pub over_2s: usize,
    pub responses_5xx: usize,
    pub transport_errors: usize,
    /// Async commands: job completion.
    pub job: Option<JobRow>,
    pub errors: Vec<ErrorCount>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: Value) -> Result<Answer, String> {
        Ok(Answer { status, bytes: 0, body })
    }

    #[test]
    fn counts_errors_by_status_and_code_and_merges() {
        let mut a = Recorder::default();
        let ms = Duration::from_millis;
        a.request(
            "listZones",
            ms(10),
            &answer(200, serde_json::json!({"listzonesresponse": {}})),
        );
        let refused = serde_json::json!({"errorresponse": {"errorcode": 431, "errortext": "bad id"}});
        a.request("stopVirtualMachine", ms(3000), &answer(431, refused.clone()));
        let mut b = Recorder::default();
        b.request("stopVirtualMachine", ms(5), &answer(431, refused));
        b.request(
            "stopVirtualMachine",
            ms(7),
            &answer(530, serde_json::json!({"errorresponse": {"errorcode": 530}})),
        );
        b.request("stopVirtualMachine", ms(9), &Err("connection refused".into()));
        b.job("stopVirtualMachine", ms(100), &JobEnd::Succeeded);
        b.job(
            "stopVirtualMachine",
            ms(200),
            &JobEnd::Failed {
                code: 534,
                text: "host down".into(),
            },
        );
        b.job("stopVirtualMachine", ms(300), &JobEnd::TimedOut);
        a.merge(b);
        let rows = a.rows();
        assert_eq!(rows.len(), 2);
        let stop = rows.iter().find(|r| r.command == "stopVirtualMachine").unwrap();
        assert_eq!(stop.requests, 4);
        assert_eq!((stop.over_2s, stop.responses_5xx, stop.transport_errors), (1, 1, 1));
        let keys: Vec<(&str, usize)> = stop.errors.iter().map(|e| (e.key.as_str(), e.count)).collect();
        assert_eq!(
            keys,
            [
                ("HTTP 431 errorcode 431", 2),
                ("HTTP 530 errorcode 530", 1),
                ("job errorcode 534", 1),
                ("job not finished", 1),
                ("transport", 1),
            ]
        );
        assert_eq!(stop.errors[0].example, "bad id");
        let job = stop.job.as_ref().unwrap();
        assert_eq!((job.finished, job.succeeded, job.failed), (3, 1, 2));
        assert_eq!((job.latency.p50_ms, job.latency.max_ms), (200.0, 300.0));
        assert_eq!(stop.http.max_ms, 3000.0);
        let zones = rows.iter().find(|r| r.command == "listZones").unwrap();
        assert!(zones.errors.is_empty() && zones.job.is_none());
    }

    #[test]
    fn latency_percentiles() {
        let d: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        let l = Latency::of(&d);
        assert_eq!(
            (l.count, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms),
            (200, 100.0, 190.0, 198.0, 200.0)
        );
        assert_eq!(Latency::of(&[]).count, 0);
    }
}
