//! Instance groups: `createInstanceGroup`, `listInstanceGroups`, `updateInstanceGroup`,
//! `deleteInstanceGroup`, and a VM's `group` (deploy and `updateVirtualMachine`), as CloudStack
//! has them: a group belongs to an account, its name is unique there (without case), a VM is in
//! at most one group, and naming a group that does not exist yet on a VM creates it.

use ferrostack_db::account::Account;
use ferrostack_db::group::{self as group_db, GroupFilter, InstanceGroup};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page};

use crate::access::{check_account, ListScope};
use crate::userdata::OwnerRef;
use crate::{App, Caller};

fn check_name(name: &str) -> Result<String, Error> {
    let n = name.trim();
    if n.is_empty() {
        return Err(Error::invalid("Give the instance group a name (name=…)"));
    }
    if n.len() > 255 {
        return Err(Error::invalid("An instance group name is at most 255 characters"));
    }
    Ok(n.to_string())
}

impl App {
    /// `createInstanceGroup`.
    pub async fn group_create(&self, caller: &Caller, name: &str, owner: &OwnerRef) -> Result<InstanceGroup, Error> {
        let name = check_name(name)?;
        let mut tx = self.db.begin().await?;
        let owner = self.owner_resolve(&mut tx, caller, owner).await?;
        let g = self.group_insert(&mut tx, &owner, &name).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(g)
    }

    async fn group_insert(&self, c: &mut Conn, owner: &Account, name: &str) -> Result<InstanceGroup, Error> {
        let id = group_db::insert(
            c,
            &new_uuid(),
            name,
            owner.id().0,
            owner.domain_id().0,
            &owner.name,
            now_ms(),
        )
        .await?;
        group_db::get(c, id)
            .await?
            .ok_or_else(|| Error::internal("instance group vanished"))
    }

    /// A live group by uuid that the caller may act on; otherwise a 431 naming `param`.
    async fn group_get_for(
        &self,
        c: &mut Conn,
        caller: &Caller,
        param: &str,
        uuid: &str,
    ) -> Result<InstanceGroup, Error> {
        let g = group_db::by_uuid(c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        let a = ferrostack_db::account::get(&mut *c, ferrostack_types::ids::AccountId(g.account_id))
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        check_account(caller, &a).map_err(|_| Error::unknown_entity(param, uuid))?;
        Ok(g)
    }

    /// `updateInstanceGroup`: a new name.
    pub async fn group_update(&self, caller: &Caller, uuid: &str, name: Option<&str>) -> Result<InstanceGroup, Error> {
        let mut tx = self.db.begin().await?;
        let g = self.group_get_for(&mut tx, caller, "id", uuid).await?;
        if let Some(n) = name {
            let n = check_name(n)?;
            group_db::rename(&mut tx, &g, &n).await?;
        }
        let g = group_db::get(&mut tx, g.id)
            .await?
            .ok_or_else(|| Error::internal("instance group vanished"))?;
        tx.commit().await.map_err(db_err)?;
        Ok(g)
    }

    /// `deleteInstanceGroup`: its VMs stay, in no group.
    pub async fn group_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let g = self.group_get_for(&mut tx, caller, "id", uuid).await?;
        group_db::remove(&mut tx, &[g.id], now_ms()).await?;
        tx.commit().await.map_err(db_err)
    }

    /// `listInstanceGroups`.
    pub async fn group_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        f: &GroupFilter,
        page: Page,
    ) -> Result<(i64, Vec<InstanceGroup>), Error> {
        let mut c = self.db.conn().await?;
        let owner = self.owner_scope(&mut c, caller, scope).await?;
        group_db::list(&mut c, &owner, f, page).await
    }

    /// Put a VM of `account` in the group named `name` (made if the account has none by that
    /// name, as CloudStack does); an empty name takes it out of its group.
    pub(crate) async fn group_assign(
        &self,
        c: &mut Conn,
        vm_id: i64,
        account: &Account,
        name: &str,
    ) -> Result<(), Error> {
        let name = name.trim();
        if name.is_empty() {
            return group_db::set_vm_group(c, vm_id, None).await;
        }
        let name = check_name(name)?;
        let g = match group_db::by_name(c, account.id().0, &name).await? {
            Some(g) => g,
            None => self.group_insert(c, account, &name).await?,
        };
        group_db::set_vm_group(c, vm_id, Some(g.id)).await
    }
}
