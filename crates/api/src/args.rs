//! Validated, typed access to a command's parameters. [`Args::validate`] checks every declared
//! parameter against its declaration (required, type, length) before the handler runs, so
//! handlers read values without re-checking and every command answers bad input with
//! CloudStack's 431 wording.

use std::collections::{BTreeMap, HashMap};

use ferrostack_app::access::ListScope;
use ferrostack_types::ids::parse_uuid;
use ferrostack_types::{Error, Page};

use crate::params::RawParams;
use crate::registry::{Command, PType, Param, Support};

pub struct Args {
    values: HashMap<String, String>,
    raw: RawParams,
    /// Internal ids of uuid filters resolved before the handler (list commands).
    resolved: HashMap<&'static str, i64>,
}

impl Args {
    pub fn validate(cmd: &Command, raw: RawParams) -> Result<Args, Error> {
        let values = raw.to_map();
        for p in &cmd.params {
            let v = values.get(p.name).map(String::as_str).filter(|v| !v.is_empty());
            match (p.ty, v) {
                (PType::Map, _) => {
                    let m = raw.map(p.name)?;
                    if p.required && m.is_empty() {
                        return Err(Error::missing(p.name));
                    }
                    if !m.is_empty() {
                        check_support(cmd.name, p, "…")?;
                    }
                }
                (_, None) => {
                    if p.required {
                        return Err(Error::missing(p.name));
                    }
                }
                (ty, Some(v)) => {
                    check_value(p.name, ty, p.length, v)?;
                    check_support(cmd.name, p, v)?;
                }
            }
        }
        Ok(Args {
            values,
            raw,
            resolved: HashMap::new(),
        })
    }

    /// Record the internal id a uuid parameter resolved to.
    pub fn resolved(&mut self, name: &'static str, id: i64) {
        self.resolved.insert(name, id);
    }

    /// The internal id of a list's uuid filter, resolved (removed entities included) before
    /// the handler ran; `None` when the parameter was not given.
    pub fn entity_id(&self, name: &str) -> Option<i64> {
        self.resolved.get(name).copied()
    }

    /// An optional string (empty counts as absent).
    pub fn str(&self, name: &str) -> Option<String> {
        self.values.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// A required string; validation has already rejected its absence.
    pub fn req(&self, name: &str) -> Result<String, Error> {
        self.str(name).ok_or_else(|| Error::missing(name))
    }

    /// A uuid in canonical lowercase form.
    pub fn uuid(&self, name: &str) -> Option<String> {
        self.str(name).and_then(|v| parse_uuid(&v).map(|u| u.to_string()))
    }

    /// A parameter as given, an empty value included (for parameters where empty means "none").
    pub fn given(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// A comma-separated list (empty items dropped); empty when absent.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.str(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// CloudStack's `ids` (a list of uuids, mutually exclusive with `id`), normalised; a value
    /// that is not a uuid is refused as CloudStack refuses it.
    pub fn ids(&self) -> Result<Vec<String>, Error> {
        let ids = self.list("ids");
        if !ids.is_empty() && self.str("id").is_some() {
            return Err(Error::invalid(crate::resolve::IDS_AND_ID));
        }
        ids.iter()
            .map(|v| {
                parse_uuid(v).map(|u| u.to_string()).ok_or_else(|| {
                    Error::invalid(format!(
                        "Unable to execute API command due to invalid value. Invalid parameter ids value={v} due to incorrect long value format, or entity does not exist"
                    ))
                })
            })
            .collect()
    }

    pub fn req_uuid(&self, name: &str) -> Result<String, Error> {
        self.uuid(name).ok_or_else(|| Error::missing(name))
    }

    /// `Boolean.valueOf`: only a case-insensitive `true` is true.
    pub fn bool(&self, name: &str) -> bool {
        self.values.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Present-or-not boolean.
    pub fn opt_bool(&self, name: &str) -> Option<bool> {
        self.str(name).map(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn i64(&self, name: &str) -> Option<i64> {
        self.str(name).and_then(|v| v.trim().parse().ok())
    }

    pub fn map(&self, name: &str) -> Result<BTreeMap<u32, BTreeMap<String, String>>, Error> {
        self.raw.map(name)
    }

    /// `page` / `pagesize` as `BaseListCmd` validates them.
    pub fn page(&self) -> Result<Page, Error> {
        Page::from_params(self.i64("page"), self.i64("pagesize"))
    }

    /// `account` / `domainid` / `isrecursive` / `listall`.
    pub fn scope(&self) -> ListScope {
        ListScope {
            account: self.str("account"),
            domain_id: self.uuid("domainid"),
            is_recursive: self.bool("isrecursive"),
            list_all: self.bool("listall"),
        }
    }
}

/// Refuse a value of a parameter ferrostack does not act on (see [`Support`]).
fn check_support(command: &str, p: &Param, v: &str) -> Result<(), Error> {
    let name = p.name;
    match p.support {
        Support::Full => Ok(()),
        Support::Only(only, _) if v.eq_ignore_ascii_case(only) => Ok(()),
        Support::Only(only, why) => Err(Error::invalid(format!(
            "{command} {name}={v} is not supported by this management server: {why}; leave {name} out or give {only}"
        ))),
        Support::Refused(why) => Err(Error::invalid(format!(
            "Parameter {name} of {command} is not supported by this management server: {why}"
        ))),
    }
}

fn check_value(name: &str, ty: PType, length: u32, v: &str) -> Result<(), Error> {
    match ty {
        PType::Uuid => {
            if parse_uuid(v).is_none() && v != "-1" {
                return Err(Error::unknown_entity(name, v));
            }
        }
        PType::Integer | PType::Short => {
            if v.trim().parse::<i32>().is_err() {
                return Err(Error::invalid_type(name, v));
            }
        }
        PType::Long => {
            if v.trim().parse::<i64>().is_err() {
                return Err(Error::invalid_type(name, v));
            }
        }
        PType::Date => {
            if ferrostack_types::time::parse_date(v).is_none() {
                return Err(Error::invalid(format!(
                    "Unable to parse date {v} for parameter {name}; use yyyy-MM-dd or yyyy-MM-dd HH:mm:ss"
                )));
            }
        }
        PType::TzDate => {
            if ferrostack_types::time::parse_tz(v).is_none() {
                return Err(Error::invalid(format!(
                    "Unable to parse date {v} for parameter {name}; use ISO-8601 such as 2030-01-01T00:00:00+0000"
                )));
            }
        }
        PType::List => {
            if v.split(',').any(|t| t.chars().count() > length as usize) {
                return Err(too_long(name, length));
            }
        }
        PType::String => {
            if v.chars().count() > length as usize {
                return Err(too_long(name, length));
            }
        }
        PType::Boolean | PType::Map => {}
    }
    Ok(())
}

fn too_long(name: &str, length: u32) -> Error {
    Error::invalid(format!(
        "Value for parameter {name} is too long: at most {length} characters are allowed"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_checks() {
        assert!(check_value("id", PType::Uuid, 255, "1d8d87d4-1425-459c-8d81-c6f57dca2bd2").is_ok());
        assert!(matches!(
            check_value("id", PType::Uuid, 255, "nope"),
            Err(Error::UnknownEntity { .. })
        ));
        assert!(check_value("page", PType::Integer, 255, "x").is_err());
        assert!(check_value("name", PType::String, 3, "abcd").is_err());
        assert!(check_value("name", PType::String, 4, "äbcd").is_ok());
        assert!(check_value("startdate", PType::Date, 255, "2024-01-01").is_ok());
        assert!(check_value("expires", PType::TzDate, 255, "soon").is_err());
    }
}
