//! The command registry: every CloudStack command is declared once — name, description,
//! async flag, parameters (type, length, required, since), response fields, who may call it,
//! and its handler. `listApis` is generated from this table and dispatch reads it, so the
//! advertised and the implemented API cannot drift.

use std::collections::HashMap;

use ferrostack_app::job::JobMeta;
use ferrostack_app::saga::SagaKind;
use ferrostack_types::{Error, EventType, RoleType};
use futures::future::BoxFuture;

use crate::args::Args;
use crate::reply::Reply;
use crate::Ctx;

/// Parameter types as `listApis` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PType {
    String,
    Uuid,
    Boolean,
    Integer,
    Long,
    Short,
    List,
    Map,
    Date,
    TzDate,
}

impl PType {
    pub fn as_str(self) -> &'static str {
        match self {
            PType::String => "string",
            PType::Uuid => "uuid",
            PType::Boolean => "boolean",
            PType::Integer => "integer",
            PType::Long => "long",
            PType::Short => "short",
            PType::List => "list",
            PType::Map => "map",
            PType::Date => "date",
            PType::TzDate => "tzdate",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub ty: PType,
    pub description: &'static str,
    pub required: bool,
    pub length: u32,
    pub since: Option<&'static str>,
    pub related: Option<&'static str>,
    /// What of CloudStack's meaning ferrostack implements; validation refuses the rest.
    pub support: Support,
}

/// How much of a declared parameter works. A parameter is declared so that clients see
/// CloudStack's signature and type checks; a value ferrostack would not act on is refused with
/// 431 naming it, never silently ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Every value does what CloudStack does with it.
    Full,
    /// Only this value (case-insensitive) is what ferrostack does; another is refused, with
    /// the reason.
    Only(&'static str, &'static str),
    /// Not implemented: any value is refused, with the reason.
    Refused(&'static str),
}

impl Param {
    pub const fn new(name: &'static str, ty: PType, description: &'static str) -> Param {
        Param {
            name,
            ty,
            description,
            required: false,
            length: 255,
            since: None,
            related: None,
            support: Support::Full,
        }
    }
    pub const fn required(self) -> Param {
        Param { required: true, ..self }
    }
    pub const fn len(self, length: u32) -> Param {
        Param { length, ..self }
    }
    pub const fn since(self, since: &'static str) -> Param {
        Param {
            since: Some(since),
            ..self
        }
    }
    pub const fn related(self, related: &'static str) -> Param {
        Param {
            related: Some(related),
            ..self
        }
    }
    /// A CloudStack parameter of the command that ferrostack does not implement: never declared
    /// in `listApis`, any value refused with `why` (see [`Support::Refused`]).
    pub const fn unsupported(name: &'static str, ty: PType, why: &'static str) -> Param {
        Param::new(name, ty, why).refused(why)
    }
    /// Only `value` works (see [`Support::Only`]).
    pub const fn only(self, value: &'static str, why: &'static str) -> Param {
        Param {
            support: Support::Only(value, why),
            ..self
        }
    }
    /// No value works (see [`Support::Refused`]).
    pub const fn refused(self, why: &'static str) -> Param {
        Param {
            support: Support::Refused(why),
            ..self
        }
    }
}

/// A response field as `listApis` describes it: (name, type, description).
pub type Field = (&'static str, &'static str, &'static str);

/// Who may call a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Root admins only.
    Admin,
    /// Root, resource and domain admins.
    DomainAdmin,
    /// Everyone with an account.
    All,
}

impl Access {
    pub fn allows(self, role: RoleType) -> bool {
        match self {
            Access::Admin => role == RoleType::Admin,
            Access::DomainAdmin => role.is_domain_admin_or_above(),
            Access::All => true,
        }
    }
}

/// How the answer is shaped (drives `related` and the response-field list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{"count":N,"<key>":[…]}`.
    List(&'static str),
    /// `{"<key>":{…}}`.
    Object(&'static str),
    /// `{"success":true}`.
    Success,
    /// Flat object under the response key (login, queryAsyncJobResult).
    Flat(&'static str),
    /// Async: `{"jobid"}` now; the job result is `{"<key>":{…}}`, or `{"success":true}` for `None`.
    Job(Option<&'static str>),
}

pub type Handler = for<'a> fn(&'a Ctx, Args) -> BoxFuture<'a, Result<Reply, Error>>;

pub struct Command {
    pub name: &'static str,
    pub description: &'static str,
    pub is_async: bool,
    pub since: Option<&'static str>,
    pub access: Access,
    pub params: Vec<Param>,
    pub shape: Shape,
    pub response: &'static [Field],
    /// For async commands: the job it runs (saga kind, event type, Java command class).
    pub job: Option<JobDecl>,
    pub handler: Handler,
}

/// What an async command's job is: its saga kind, the event type its events carry, and the
/// Java command class CloudStack reports (`cmd` of `queryAsyncJobResult`).
#[derive(Debug, Clone, Copy)]
pub struct JobDecl {
    pub kind: SagaKind,
    pub event: EventType,
    pub class: &'static str,
}

impl JobDecl {
    pub const fn new(kind: SagaKind, event: EventType, class: &'static str) -> JobDecl {
        JobDecl { kind, event, class }
    }
}

impl Command {
    /// Declare the job of an async command.
    pub fn job(self, kind: SagaKind, event: EventType, class: &'static str) -> Command {
        Command {
            job: Some(JobDecl::new(kind, event, class)),
            ..self
        }
    }

    /// The job identity app records for this command.
    pub fn job_meta(&self) -> Option<JobMeta> {
        self.job.map(|j| JobMeta {
            kind: j.kind,
            command: self.name,
            cmd_class: j.class,
            event_type: j.event,
        })
    }
}

/// The common paging parameters of every list command.
pub fn list_params() -> Vec<Param> {
    vec![
        Param::new("keyword", PType::String, "List by keyword"),
        Param::new("page", PType::Integer, "The page number of the result set (1-based)"),
        Param::new(
            "pagesize",
            PType::Integer,
            "The number of items per page (at most 500; -1 for all)",
        ),
    ]
}

/// The owner-scope parameters of account-owned lists.
pub fn scope_params() -> Vec<Param> {
    vec![
        Param::new("account", PType::String, "List resources by account. Must be used with the domainId parameter."),
        Param::new("domainid", PType::Uuid, "List only resources belonging to the domain specified").related("listDomains"),
        Param::new(
            "isrecursive",
            PType::Boolean,
            "Defaults to false, but if true, lists all resources from the parent specified by the domainId till leaves.",
        ),
        Param::new(
            "listall",
            PType::Boolean,
            "If set to false, list only resources belonging to the command's caller; if set to true - list resources that the caller is authorized to see. Default value is false",
        ),
    ]
}

/// Fields every async-job-tracked entity answer may carry.
pub const JOB_FIELDS: &[Field] = &[
    (
        "jobid",
        "string",
        "the UUID of the latest async job acting on this object",
    ),
    (
        "jobstatus",
        "integer",
        "the current status of the latest async job acting on this object",
    ),
];

pub const SUCCESS_FIELDS: &[Field] = &[
    ("success", "boolean", "true if operation is executed successfully"),
    (
        "displaytext",
        "string",
        "any text associated with the success or failure",
    ),
];

pub struct Registry {
    commands: Vec<Command>,
    by_name: HashMap<&'static str, usize>,
}

impl Registry {
    pub fn new(commands: Vec<Command>) -> Registry {
        let mut by_name = HashMap::new();
        for (i, c) in commands.iter().enumerate() {
            let dup = by_name.insert(c.name, i);
            assert!(dup.is_none(), "command {} registered twice", c.name);
        }
        Registry { commands, by_name }
    }

    pub fn get(&self, name: &str) -> Option<&Command> {
        self.by_name.get(name).map(|i| &self.commands[*i])
    }

    pub fn all(&self) -> &[Command] {
        &self.commands
    }

    /// Other commands answering with the same object, comma-separated (`listApis` `related`).
    pub fn related(&self, c: &Command) -> Option<String> {
        let key = match c.shape {
            Shape::List(k) | Shape::Object(k) | Shape::Job(Some(k)) => k,
            Shape::Success | Shape::Flat(_) | Shape::Job(None) => return None,
        };
        let names: Vec<&str> = self
            .commands
            .iter()
            .filter(|o| o.name != c.name)
            .filter(|o| matches!(o.shape, Shape::List(k) | Shape::Object(k) | Shape::Job(Some(k)) if k == key))
            .map(|o| o.name)
            .collect();
        Some(names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::Shape;
    use ferrostack_types::EventType;

    #[test]
    fn every_async_command_declares_a_registered_saga_kind_and_event_type() {
        let reg = crate::registry();
        let kinds = ferrostack_app::job::registered_kinds();
        for c in reg.all() {
            let job_shaped = matches!(c.shape, Shape::Job(_));
            assert_eq!(c.is_async, job_shaped, "{}: async flag and shape disagree", c.name);
            assert_eq!(
                c.is_async,
                c.job.is_some(),
                "{}: async commands (only) declare a job",
                c.name
            );
            if let Some(j) = c.job {
                assert!(
                    kinds.contains(&j.kind.as_str()),
                    "{}: saga kind {} is not registered with the engine",
                    c.name,
                    j.kind
                );
                assert_eq!(EventType::parse(j.event.as_str()), Some(j.event), "{}", c.name);
                assert!(
                    j.class.starts_with("org.apache.cloudstack.api.command.") && j.class.ends_with("Cmd"),
                    "{}: {} is not a CloudStack command class",
                    c.name,
                    j.class
                );
                let meta = c.job_meta().expect("declared");
                assert_eq!(meta.command, c.name);
            }
        }
    }
}
