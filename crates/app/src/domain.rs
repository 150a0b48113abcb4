//! Domains: create, list, update, delete (async, with optional cleanup).

use ferrostack_db::domain::{self as domain_db, Domain, DomainFilter, DomainScope};
use ferrostack_db::{account as account_db, db_err};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::ids::DomainId;
use ferrostack_types::state::{DomainEvent, DomainState, StateMachine};
use ferrostack_types::time::now_ms;
use ferrostack_types::EventType;
use ferrostack_types::{Error, Page, RoleType};

use crate::access::check_domain;
use crate::event::Resource;
use crate::job::{JobRequest, Submitted};
use crate::{App, Caller};

pub struct DomainCreate {
    pub name: String,
    pub parent_uuid: Option<String>,
    pub network_domain: Option<String>,
    pub uuid: Option<String>,
}

pub struct DomainListParams {
    pub filter: DomainFilter,
    pub id: Option<String>,
    pub list_all: bool,
    pub is_recursive: bool,
}

fn resource(d: &Domain) -> Resource {
    Resource {
        kind: "Domain",
        uuid: d.uuid.clone(),
        name: d.name.clone(),
    }
}

pub fn validate_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() || name.contains('/') {
        return Err(Error::invalid(
            "Domain name must be non-empty and may not contain '/'; choose a plain name such as 'engineering'",
        ));
    }
    Ok(())
}

impl App {
    pub async fn domain_create(&self, caller: &Caller, p: DomainCreate) -> Result<Domain, Error> {
        validate_name(&p.name)?;
        let mut tx = self.db.begin().await?;
        let parent = match &p.parent_uuid {
            Some(u) => self.domain_for(&mut tx, caller, "parentdomainid", u).await?,
            None => domain_db::get(&mut *tx, caller.domain_id)
                .await?
                .ok_or_else(|| Error::internal("caller's domain missing"))?,
        };
        check_domain(caller, &parent)?;
        let uuid = p.uuid.unwrap_or_else(new_uuid);
        let id = domain_db::insert(
            &mut tx,
            domain_db::NewDomain {
                uuid: &uuid,
                name: &p.name,
                parent: Some(&parent),
                network_domain: p.network_domain.as_deref(),
                now: now_ms(),
            },
        )
        .await?;
        let d = domain_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("domain vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::DomainCreate,
            format!("Domain {} created under {}", d.name, parent.display_path()),
            Some(&resource(&d)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(d)
    }

    pub async fn domain_list(
        &self,
        caller: &Caller,
        p: DomainListParams,
        page: Page,
    ) -> Result<(i64, Vec<Domain>), Error> {
        let mut c = self.db.conn().await?;
        let mut filter = p.filter;
        let base = match &p.id {
            Some(u) => {
                let d = domain_db::by_uuid(&mut *c, u)
                    .await?
                    .ok_or_else(|| Error::unknown_entity("id", u))?;
                check_domain(caller, &d)?;
                filter.id = Some(d.id());
                return domain_db::list(&mut c, &DomainScope::One(d.id()), &filter, page).await;
            }
            None => domain_db::get(&mut *c, caller.domain_id)
                .await?
                .ok_or_else(|| Error::internal("caller's domain missing"))?,
        };
        let scope = if (p.list_all || p.is_recursive) && caller.role != RoleType::User {
            DomainScope::Subtree(base.path.clone())
        } else {
            DomainScope::One(base.id())
        };
        domain_db::list(&mut c, &scope, &filter, page).await
    }

    pub async fn domain_get(&self, uuid: &str) -> Result<Option<Domain>, Error> {
        domain_db::by_uuid(self.db.read(), uuid).await
    }

    pub async fn domain_update(
        &self,
        caller: &Caller,
        uuid: &str,
        name: Option<String>,
        network_domain: Option<String>,
    ) -> Result<Domain, Error> {
        let mut tx = self.db.begin().await?;
        let d = self.domain_for(&mut tx, caller, "id", uuid).await?;
        if let Some(n) = &name {
            validate_name(n)?;
            if d.parent_id.is_none() {
                return Err(Error::invalid("The ROOT domain can't be renamed"));
            }
            if d.id == caller.domain_id.0 && caller.role != RoleType::Admin {
                return Err(Error::denied(
                    "A domain administrator can't rename its own domain; ask a parent domain's administrator",
                ));
            }
        }
        domain_db::update(&mut tx, d.id(), name.as_deref(), network_domain.as_deref()).await?;
        let d = domain_db::get(&mut *tx, d.id())
            .await?
            .ok_or_else(|| Error::internal("domain vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::DomainUpdate,
            format!("Domain {} updated", d.name),
            Some(&resource(&d)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(d)
    }

    /// Validate and submit an async domain deletion.
    pub async fn domain_delete(
        &self,
        caller: &Caller,
        uuid: &str,
        cleanup: bool,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let d = self.domain_for(&mut tx, caller, "id", uuid).await?;
        if d.parent_id.is_none() {
            return Err(Error::invalid("The ROOT domain can't be deleted"));
        }
        if d.id == caller.domain_id.0 {
            return Err(Error::invalid(
                "A caller can't delete its own domain; ask a parent domain's administrator",
            ));
        }
        if !cleanup {
            if !domain_db::children(&mut tx, d.id()).await?.is_empty() {
                return Err(Error::in_use(format!(
                    "Failed to delete domain {}, because it has child domains; delete them first or pass cleanup=true",
                    d.name
                )));
            }
            if !account_db::ids_in_domain(&mut tx, d.id()).await?.is_empty() {
                return Err(Error::in_use(format!(
                    "Failed to delete domain {}, because it still has accounts; delete them first or pass cleanup=true",
                    d.name
                )));
            }
        }
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("Domain", d.uuid.clone())),
                    sync_key: format!("domain:{}", d.uuid),
                    params: crate::saga::to_params(&crate::sagas::domain::DomainDeleteParams {
                        domain_id: d.id,
                        cleanup,
                    })?,
                    meta,
                    description: format!("Deleting domain {}", d.display_path()),
                    resource: Some(resource(&d)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }
}

/// Move a domain's state through its machine with a compare-and-swap on `from`.
pub(crate) async fn domain_move(
    c: &mut ferrostack_db::Conn,
    id: DomainId,
    from: DomainState,
    event: DomainEvent,
) -> Result<DomainState, Error> {
    let to = from.transition(event)?;
    if domain_db::set_state(c, id, from, to).await? {
        Ok(to)
    } else {
        Err(Error::invalid(format!(
            "The domain changed state while it was being moved from {from} to {to}; retry"
        )))
    }
}
