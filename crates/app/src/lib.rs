//! The domain services of ferrostack. One file per resource adds an `impl App` block
//! (`account_create`, `domain_delete`, …): check access, decide, then act — in one
//! transaction, with the event that records it. Nothing here knows about HTTP.

pub mod access;
pub mod account;
pub mod agent;
pub mod bootstrap;
mod coalesce;
pub mod config;
pub mod domain;
pub mod elements;
pub mod event;
pub mod followup;
pub mod group;
pub mod host;
pub mod host_sagas;
pub mod host_startup;
pub mod host_state;
pub mod infra;
pub mod job;
pub mod model;
pub mod netoffering;
pub mod netops;
pub mod network;
pub mod network_sagas;
pub mod offering;
pub mod password;
pub mod physnet;
pub mod power_watch;
pub mod query;
pub mod role;
pub mod router;
pub mod saga;
pub mod sagas;
pub mod session;
pub mod simulator;
pub mod snapshot;
pub mod sshkey;
pub mod storage;
pub mod tag;
pub mod tag_sagas;
pub mod template;
pub mod user;
pub mod userdata;
pub mod vm;
pub mod vm_extras;
pub mod vm_extras_sagas;
mod vm_iso;
pub mod vm_migrate;
pub mod vm_nics;
pub mod vm_sagas;
pub mod vmflow;
pub mod vmops;
pub mod vmpower;
mod vmstart;
pub mod vmstate;
pub mod volume;
pub mod volume_sagas;
pub mod zone;

use std::sync::Arc;

use ferrostack_agent_api::control::SimulatorControl;
use ferrostack_agent_api::Connector;
use ferrostack_db::user::User;
use ferrostack_db::Db;
use ferrostack_jobs::Engine;
use ferrostack_types::ids::{AccountId, DomainId, UserId};
use ferrostack_types::{AccountType, Error, RoleType};

/// Track database acquisitions of one request or job (see `ferrostack_db::held`).
pub use ferrostack_db::held::scope as db_discipline_scope;
pub use ferrostack_jobs::{JobOutcome, Render};

/// Settings the services read.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// This management server's id (also the job owner id).
    pub msid: String,
    /// Version reported to clients (`cloudstackversion`).
    pub version: String,
    /// Idle timeout of a login session.
    pub session_timeout_secs: i64,
}

/// The application: the database, the job engine, host agents, settings.
pub struct App {
    pub db: Db,
    pub jobs: Arc<Engine<App>>,
    pub config: AppConfig,
    pub agents: agent::Agents,
    /// Control of a simulated hypervisor (`configureSimulator` & co.), when `server`
    /// injected one; the commands answer 432 without it.
    simulator: Option<Arc<dyn SimulatorControl>>,
    elements: std::sync::OnceLock<ferrostack_net::ProviderRegistry>,
    /// Router programming rounds, coalesced per router.
    router_rounds: coalesce::Coalescer,
    /// This server's own base URL (`http://ADDR`), set once it listens: the base of the
    /// download links of extracted templates unless `endpointe.url` is set.
    public_url: std::sync::OnceLock<String>,
}

impl App {
    /// `connectors` reach the hypervisor hosts (the agent contract); `simulator` is the
    /// control handle of a simulated hypervisor, if one of the connectors is one.
    pub fn new(
        db: Db,
        jobs: Arc<Engine<App>>,
        config: AppConfig,
        connectors: Vec<Arc<dyn Connector>>,
        simulator: Option<Arc<dyn SimulatorControl>>,
    ) -> Self {
        App {
            db,
            jobs,
            config,
            agents: agent::Agents::new(connectors),
            simulator,
            elements: std::sync::OnceLock::new(),
            router_rounds: coalesce::Coalescer::default(),
            public_url: std::sync::OnceLock::new(),
        }
    }

    /// Record the base URL this server answers at (`http://127.0.0.1:8080`); the first call wins.
    pub fn set_public_url(&self, url: String) {
        let _ = self.public_url.set(url);
    }

    /// Finish wiring once the application is shared: the network elements hold a weak
    /// reference back to it.
    pub fn init(self: &Arc<Self>) {
        let _ = self.elements.set(elements::registry(Arc::downgrade(self)));
    }

    /// The network elements, keyed by provider.
    pub fn elements(&self) -> &ferrostack_net::ProviderRegistry {
        static EMPTY: std::sync::OnceLock<ferrostack_net::ProviderRegistry> = std::sync::OnceLock::new();
        self.elements
            .get()
            .unwrap_or_else(|| EMPTY.get_or_init(ferrostack_net::ProviderRegistry::new))
    }
}

/// Who is calling: resolved once per request from the session or API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub user_uuid: String,
    pub username: String,
    pub account_id: AccountId,
    pub account_uuid: String,
    pub account_name: String,
    pub domain_id: DomainId,
    pub domain_uuid: String,
    /// Internal domain path (`/`, `/a/`).
    pub domain_path: String,
    pub role: RoleType,
    pub account_type: AccountType,
}

impl Caller {
    pub fn from_user(u: &User) -> Caller {
        Caller {
            user_id: u.id(),
            user_uuid: u.uuid.clone(),
            username: u.username.clone(),
            account_id: u.account_id(),
            account_uuid: u.account_uuid.clone(),
            account_name: u.account_name.clone(),
            domain_id: u.domain_id(),
            domain_uuid: u.domain_uuid.clone(),
            domain_path: u.domain_path.clone(),
            role: u.role_type(),
            account_type: u.account_type(),
        }
    }

    pub fn is_root_admin(&self) -> bool {
        self.role == RoleType::Admin
    }

    /// Load the caller a job runs as (the submitting user), even if removed since.
    pub async fn load(db: &Db, id: UserId) -> Result<Caller, Error> {
        let u = ferrostack_db::user::get_including_removed(db.read(), id)
            .await?
            .ok_or_else(|| {
                Error::ResourceUnavailable(format!("the user {id} who submitted this job no longer exists"))
            })?;
        Ok(Caller::from_user(&u))
    }
}
