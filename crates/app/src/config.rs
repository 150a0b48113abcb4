//! Configuration settings: definitions with defaults and validation, values stored per
//! scope (global or zone), read with zone → global → default precedence.

use ferrostack_db::{config as config_db, db_err, zone as zone_db};
use ferrostack_types::time::now_ms;
use ferrostack_types::EventType;
use ferrostack_types::{Error, RoleType};

use crate::event::Resource;
use crate::{App, Caller};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Zone,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Zone => "zone",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Integer {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Boolean,
    String,
    /// A comma-separated list of role type names (`Admin, DomainAdmin`).
    RoleTypes,
    /// A comma-separated list of CIDRs or single addresses, possibly empty.
    Cidrs,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Integer { .. } => "Number",
            Kind::Float { .. } => "Decimal",
            Kind::Boolean => "Boolean",
            Kind::String | Kind::RoleTypes | Kind::Cidrs => "String",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub category: &'static str,
    pub default: &'static str,
    pub description: &'static str,
    /// The narrowest scope a value may be set at (zone settings may also be set globally).
    pub scope: Scope,
    pub kind: Kind,
}

/// Every setting ferrostack reads.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "router.template.simulator",
        category: "Advanced",
        default: "SystemVM Template (simulator)",
        description: "Name of the default router template on Simulator hosts.",
        scope: Scope::Zone,
        kind: Kind::String,
    },
    Setting {
        name: "router.template.kvm",
        category: "Advanced",
        default: "SystemVM Template (KVM)",
        description: "Name of the default router template on KVM hosts.",
        scope: Scope::Zone,
        kind: Kind::String,
    },
    Setting {
        name: "vm.userdata.max.length",
        category: "Advanced",
        default: "32768",
        description: "Max length of vm userdata after base64 encoding. Default is 32768 and maximum is 1048576",
        scope: Scope::Global,
        kind: Kind::Integer { min: 1, max: 1_048_576 },
    },
    Setting {
        name: "expunge.delay",
        category: "Advanced",
        default: "86400",
        description: "Determines how long (in seconds) to wait before actually expunging destroyed vm.",
        scope: Scope::Global,
        kind: Kind::Integer {
            min: 0,
            max: 31_536_000,
        },
    },
    Setting {
        name: "expunge.interval",
        category: "Advanced",
        default: "60",
        description: "The interval (in seconds) to wait before running the expunge thread.",
        scope: Scope::Global,
        kind: Kind::Integer { min: 1, max: 86_400 },
    },
    Setting {
        name: "ping.interval",
        category: "Advanced",
        default: "5",
        description: "Interval (in seconds) at which the management server pings each host agent.",
        scope: Scope::Global,
        kind: Kind::Integer { min: 1, max: 600 },
    },
    Setting {
        name: "ping.timeout",
        category: "Advanced",
        default: "3",
        description: "Multiplier to ping.interval before a host that does not answer is marked Down.",
        scope: Scope::Global,
        kind: Kind::Float { min: 1.0, max: 100.0 },
    },
    Setting {
        name: "followup.max.attempts",
        category: "Advanced",
        default: "10",
        description: "Attempts of a follow-up effect (host cleanup, network element release) before it is marked Stuck with an alert (ferrostack).",
        scope: Scope::Global,
        kind: Kind::Integer { min: 1, max: 1000 },
    },
    Setting {
        name: "system.vm.use.local.storage",
        category: "Advanced",
        default: "false",
        description: "Indicates whether to use local storage pools or shared storage pools for system VMs.",
        scope: Scope::Zone,
        kind: Kind::Boolean,
    },
    Setting {
        name: "network.gc.interval",
        category: "Advanced",
        default: "600",
        description: "Seconds to wait before checking for networks to shutdown",
        scope: Scope::Global,
        kind: Kind::Integer { min: 1, max: 86_400 },
    },
    Setting {
        name: "network.gc.wait",
        category: "Advanced",
        default: "600",
        description: "Time (in seconds) to wait before shutting down a network that's not in used",
        scope: Scope::Global,
        kind: Kind::Integer { min: 1, max: 86_400 },
    },
    Setting {
        name: "direct.download.connect.timeout",
        category: "Advanced",
        default: "5000",
        description: "Connection establishment timeout in milliseconds for direct download",
        scope: Scope::Global,
        kind: Kind::Integer { min: 1, max: 600_000 },
    },
    Setting {
        name: "allow.user.expunge.recover.vm",
        category: "Advanced",
        default: "false",
        description: "Determines whether users can expunge or recover their vm",
        scope: Scope::Global,
        kind: Kind::Boolean,
    },
    Setting {
        name: "incorrect.login.attempts.allowed",
        category: "Advanced",
        default: "5",
        description: "Incorrect login attempts allowed before the user is disabled (when value > 0). If value <=0 users are not disabled after failed login attempts",
        scope: Scope::Global,
        kind: Kind::Integer { min: 0, max: 10_000 },
    },
    Setting {
        name: "api.signature.expires.max.seconds",
        category: "Advanced",
        default: "86400",
        description: "How far in the future (in seconds) the expires of a signatureVersion=3 request may be; a request signed to expire later is refused (ferrostack).",
        scope: Scope::Global,
        kind: Kind::Integer {
            min: 60,
            max: 31_536_000,
        },
    },
    Setting {
        name: "extract.url.expiration.interval",
        category: "Advanced",
        default: "14400",
        description: "The life of an extract URL after which it is deleted ",
        scope: Scope::Global,
        kind: Kind::Integer {
            min: 1,
            max: 31_536_000,
        },
    },
    Setting {
        name: "secstorage.allowed.internal.download.sites",
        category: "Advanced",
        default: "",
        description: "Comma separated list of CIDRs of internal sites (loopback, private, link-local addresses) the \
                      management server may fetch template images from when serving extracted templates; every \
                      other internal address is refused",
        scope: Scope::Global,
        kind: Kind::Cidrs,
    },
    Setting {
        name: "disable.extraction",
        category: "Advanced",
        default: "false",
        description: "Flag for disabling extraction of template, isos and volumes",
        scope: Scope::Global,
        kind: Kind::Boolean,
    },
    Setting {
        name: "endpointe.url",
        category: "Advanced",
        default: "http://localhost:8080/client/api",
        description: "API end point. Can be used by CS components/services deployed remotely, for sending CS API requests",
        scope: Scope::Global,
        kind: Kind::String,
    },
    Setting {
        name: "role.types.allowed.for.operations.on.accounts.of.same.role.type",
        category: "Advanced",
        default: "Admin, ResourceAdmin, DomainAdmin",
        description: "Comma separated list of role types that are allowed to do operations on accounts or users of the same role type within a domain.",
        scope: Scope::Global,
        kind: Kind::RoleTypes,
    },
    Setting {
        name: "enable.dynamic.scale.vm",
        category: "Advanced",
        default: "false",
        description: "Enables/Disables dynamically scaling a vm",
        scope: Scope::Zone,
        kind: Kind::Boolean,
    },
];

/// `10.0.0.0/8`, `fd00::/8` or a single address.
fn is_cidr(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|n| n <= max))
}

pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// Check a value against its setting's kind; the message says what is accepted.
pub fn validate(s: &Setting, value: &str) -> Result<String, Error> {
    let v = value.trim();
    match s.kind {
        Kind::Integer { min, max } => match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
            Ok(_) | Err(_) => Err(Error::invalid(format!(
                "Invalid value {value} for {}: give a whole number from {min} to {max}",
                s.name
            ))),
        },
        Kind::Float { min, max } => match v.parse::<f64>() {
            Ok(n) if n >= min && n <= max => Ok(v.to_string()),
            Ok(_) | Err(_) => Err(Error::invalid(format!(
                "Invalid value {value} for {}: give a number from {min} to {max}",
                s.name
            ))),
        },
        Kind::Boolean => match v.to_ascii_lowercase().as_str() {
            "true" => Ok("true".into()),
            "false" => Ok("false".into()),
            _ => Err(Error::invalid(format!(
                "Invalid value {value} for {}: give true or false",
                s.name
            ))),
        },
        Kind::RoleTypes => {
            let mut out: Vec<&str> = Vec::new();
            for item in v.split(',').map(str::trim) {
                let r = RoleType::parse(item).ok_or_else(|| {
                    Error::invalid(format!(
                        "Invalid value {value} for {}: give role types separated by commas, each one of Admin, ResourceAdmin, DomainAdmin, User",
                        s.name
                    ))
                })?;
                if !out.contains(&r.as_str()) {
                    out.push(r.as_str());
                }
            }
            Ok(out.join(", "))
        }
        Kind::Cidrs => {
            let mut out = Vec::new();
            for item in v.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                if !is_cidr(item) {
                    return Err(Error::invalid(format!(
                        "Invalid value {value} for {}: give CIDRs or addresses separated by commas (10.0.0.0/8, \
                         192.168.1.5), or nothing",
                        s.name
                    )));
                }
                out.push(item);
            }
            Ok(out.join(","))
        }
        Kind::String => {
            if v.is_empty() {
                Err(Error::invalid(format!("The value of {} can't be empty", s.name)))
            } else {
                Ok(v.to_string())
            }
        }
    }
}

/// One setting as `listConfigurations` shows it.
#[derive(Debug, Clone)]
pub struct ConfigValue {
    pub setting: &'static Setting,
    pub value: String,
    pub scope: Scope,
    pub zone: Option<(String, String)>,
}

impl App {
    /// The effective value: zone override, then global, then the default.
    pub async fn config_value(&self, name: &str, zone_id: Option<i64>) -> Result<String, Error> {
        let mut c = self.db.conn().await?;
        self.config_value_in(&mut c, name, zone_id).await
    }

    /// [`App::config_value`] on a connection the caller holds.
    pub async fn config_value_in(
        &self,
        c: &mut ferrostack_db::Conn,
        name: &str,
        zone_id: Option<i64>,
    ) -> Result<String, Error> {
        let s = setting(name).ok_or_else(|| Error::internal(format!("unknown setting {name}")))?;
        if let Some(z) = zone_id {
            if s.scope == Scope::Zone {
                if let Some(v) = config_db::get(&mut *c, name, "zone", z).await? {
                    return Ok(v);
                }
            }
        }
        Ok(config_db::get(&mut *c, name, "global", 0)
            .await?
            .unwrap_or_else(|| s.default.to_string()))
    }

    pub async fn config_i64(&self, name: &str, zone_id: Option<i64>) -> Result<i64, Error> {
        let mut c = self.db.conn().await?;
        self.config_i64_in(&mut c, name, zone_id).await
    }

    /// [`App::config_i64`] on a connection the caller holds.
    pub async fn config_i64_in(
        &self,
        c: &mut ferrostack_db::Conn,
        name: &str,
        zone_id: Option<i64>,
    ) -> Result<i64, Error> {
        let v = self.config_value_in(c, name, zone_id).await?;
        v.parse()
            .map_err(|_| Error::internal(format!("setting {name} holds a non-number: {v}")))
    }

    pub async fn config_f64(&self, name: &str, zone_id: Option<i64>) -> Result<f64, Error> {
        let v = self.config_value(name, zone_id).await?;
        v.parse()
            .map_err(|_| Error::internal(format!("setting {name} holds a non-number: {v}")))
    }

    pub async fn config_bool(&self, name: &str, zone_id: Option<i64>) -> Result<bool, Error> {
        Ok(self.config_value(name, zone_id).await? == "true")
    }

    /// `listConfigurations`: all settings (or one by name / keyword / category), at global
    /// scope or for a zone.
    pub async fn config_list(
        &self,
        name: Option<&str>,
        keyword: Option<&str>,
        category: Option<&str>,
        zone_uuid: Option<&str>,
    ) -> Result<Vec<ConfigValue>, Error> {
        let zone = match zone_uuid {
            Some(u) => Some(
                zone_db::by_uuid(self.db.read(), u)
                    .await?
                    .ok_or_else(|| Error::unknown_entity("zoneid", u))?,
            ),
            None => None,
        };
        let mut out = Vec::new();
        for s in SETTINGS {
            if name.is_some_and(|n| n != s.name)
                || keyword.is_some_and(|k| !s.name.contains(&k.to_lowercase()))
                || category.is_some_and(|c| !s.category.eq_ignore_ascii_case(c))
            {
                continue;
            }
            if zone.is_some() && s.scope != Scope::Zone {
                continue;
            }
            let value = self.config_value(s.name, zone.as_ref().map(|z| z.id)).await?;
            out.push(ConfigValue {
                setting: s,
                value,
                scope: if zone.is_some() { Scope::Zone } else { Scope::Global },
                zone: zone.as_ref().map(|z| (z.uuid.clone(), z.name.clone())),
            });
        }
        if let Some(n) = name {
            if out.is_empty() && setting(n).is_none() {
                return Err(Error::invalid(format!(
                    "Configuration {n} does not exist; call listConfigurations to see the settings"
                )));
            }
        }
        Ok(out)
    }

    /// `updateConfiguration`: validate and store a value globally or for a zone.
    pub async fn config_update(
        &self,
        caller: &Caller,
        name: &str,
        value: Option<&str>,
        zone_uuid: Option<&str>,
    ) -> Result<ConfigValue, Error> {
        let s = setting(name).ok_or_else(|| {
            Error::invalid(format!(
                "Configuration {name} does not exist; call listConfigurations to see the settings"
            ))
        })?;
        let zone = match zone_uuid {
            Some(u) => {
                if s.scope != Scope::Zone {
                    return Err(Error::invalid(format!(
                        "{name} is a global setting and can't be set for a zone; leave out zoneid"
                    )));
                }
                Some(
                    zone_db::by_uuid(self.db.read(), u)
                        .await?
                        .ok_or_else(|| Error::unknown_entity("zoneid", u))?,
                )
            }
            None => None,
        };
        let value = validate(s, value.unwrap_or(s.default))?;
        let (scope, scope_id) = match &zone {
            Some(z) => ("zone", z.id),
            None => ("global", 0),
        };
        let mut tx = self.db.begin().await?;
        config_db::set(&mut *tx, name, scope, scope_id, &value, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ConfigurationValueEdit,
            format!(
                "Value of {name} set to {value}{}",
                zone.as_ref()
                    .map(|z| format!(" in zone {}", z.name))
                    .unwrap_or_default()
            ),
            Some(&Resource {
                kind: "Configuration",
                uuid: name.to_string(),
                name: name.to_string(),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ConfigValue {
            setting: s,
            value,
            scope: if zone.is_some() { Scope::Zone } else { Scope::Global },
            zone: zone.map(|z| (z.uuid, z.name)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_for_their_own_kind() {
        for s in SETTINGS {
            assert_eq!(validate(s, s.default).unwrap(), s.default, "{}", s.name);
        }
    }

    #[test]
    fn values_are_checked() {
        let s = setting("ping.interval").unwrap();
        assert!(validate(s, "0").is_err());
        assert!(validate(s, "abc").is_err());
        assert_eq!(validate(s, " 2 ").unwrap(), "2");
        assert!(validate(setting("system.vm.use.local.storage").unwrap(), "yes").is_err());
        let roles = setting("role.types.allowed.for.operations.on.accounts.of.same.role.type").unwrap();
        assert_eq!(
            validate(roles, " admin,DomainAdmin , admin").unwrap(),
            "Admin, DomainAdmin"
        );
        assert!(validate(roles, "Admin, Boss").is_err());
        assert!(validate(roles, "").is_err());
        let sites = setting("secstorage.allowed.internal.download.sites").unwrap();
        assert_eq!(validate(sites, " 10.0.0.0/8 , ::1,").unwrap(), "10.0.0.0/8,::1");
        assert_eq!(validate(sites, "").unwrap(), "");
        assert!(validate(sites, "10.0.0.0/33").is_err());
        assert!(validate(sites, "intranet").is_err());
    }
}
