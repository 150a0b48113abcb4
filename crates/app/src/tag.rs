//! Resource tags (`createTags`, `deleteTags`, `listTags`) and resource details
//! (`addResourceDetail`, `removeResourceDetail`, `listResourceDetails`), as CloudStack 4.20
//! has them. The writes are async commands: submission checks the resource type, the
//! resources (they exist and the caller may act on them) and the keys, and the job
//! ([`crate::tag_sagas`]) writes in one transaction. A tag belongs to its resource's owner (the
//! `system` account for infrastructure nobody owns), so `listTags` scopes like the resources.
//! Lists of taggable resources read the tags of a page in one query ([`App::tags_page`]).

use std::collections::{BTreeSet, HashMap};

use ferrostack_db::tag::{self as tag_db, Target};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::{new_uuid, AccountId};
use ferrostack_types::{Error, Page};

use crate::access::{check_account, ListScope};
use crate::job::{JobMeta, JobRequest, Submitted};
use crate::saga::to_params;
use crate::tag_sagas::{
    DetailEntry, DetailsAddParams, DetailsRemoveParams, TagEntry, TagsCreateParams, TagsDeleteParams,
};
use crate::{App, Caller};

pub use ferrostack_db::tag::{Detail, DetailFilter, KeySelector, ResourceType, Tag, TagFilter, TagMatch};

/// The tags of a page of resources, by resource row id.
pub type TagPage = HashMap<i64, Vec<Tag>>;
/// The details of a page of resources, by resource row id.
pub type DetailPage = HashMap<i64, Vec<Detail>>;

/// Longest tag or detail key and value (CloudStack's `resource_tags` columns).
pub const MAX_LEN: usize = 255;

/// Most tags one `createTags` writes (resources × keys): its job is one transaction, which
/// must stay short.
pub const MAX_TAGS_PER_CALL: usize = 1000;

/// Every `ResourceObjectType` of CloudStack 4.20, to tell a type ferrostack lacks from a typo.
const CLOUDSTACK_TYPES: &[&str] = &[
    "VMInstance",
    "UserVm",
    "Template",
    "VnfTemplate",
    "ISO",
    "Volume",
    "Snapshot",
    "Backup",
    "Network",
    "DomainRouter",
    "Nic",
    "LoadBalancer",
    "PortForwardingRule",
    "FirewallRule",
    "SecurityGroup",
    "SecurityGroupRule",
    "PublicIpAddress",
    "Project",
    "Account",
    "Vpc",
    "NetworkACL",
    "StaticRoute",
    "VMSnapshot",
    "RemoteAccessVpn",
    "Zone",
    "ServiceOffering",
    "Storage",
    "PrivateGateway",
    "NetworkACLList",
    "VpnGateway",
    "CustomerGateway",
    "VpnConnection",
    "User",
    "DiskOffering",
    "AutoScaleVmProfile",
    "AutoScaleVmGroup",
    "LBStickinessPolicy",
    "LBHealthCheckPolicy",
    "SnapshotPolicy",
    "GuestOs",
    "NetworkOffering",
    "VpcOffering",
    "Domain",
    "ObjectStore",
];

/// What a resource type is used for here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Tags,
    Details,
}

impl Purpose {
    fn allows(self, t: ResourceType) -> bool {
        match self {
            Purpose::Tags => t.taggable(),
            Purpose::Details => t.has_details(),
        }
    }

    fn supported(self) -> String {
        let names: Vec<&str> = ResourceType::ALL
            .iter()
            .filter(|t| self.allows(**t))
            .map(|t| t.as_str())
            .collect();
        names.join(", ")
    }

    fn noun(self) -> &'static str {
        match self {
            Purpose::Tags => "resource tags",
            Purpose::Details => "resource details",
        }
    }
}

/// Parse `resourcetype` for tags or details: a 431 that names the types that work, whether
/// the value is no CloudStack type, a type ferrostack has no resources of, or one that does not
/// take tags (details).
pub fn parse_resource_type(value: &str, purpose: Purpose) -> Result<ResourceType, Error> {
    let supported = purpose.supported();
    let Some(t) = ResourceType::parse(value) else {
        let known = CLOUDSTACK_TYPES.iter().find(|n| n.eq_ignore_ascii_case(value.trim()));
        return Err(Error::invalid(match known {
            Some(name) => format!(
                "The resource type {name} is not supported by ferrostack (it has no such resources); {} work on: {supported}",
                purpose.noun()
            ),
            None => format!(
                "Invalid resource type {value}; {} work on: {supported}",
                purpose.noun()
            ),
        }));
    };
    if purpose.allows(t) {
        return Ok(t);
    }
    Err(Error::invalid(match (purpose, t) {
        (Purpose::Details, ResourceType::Template) => format!(
            "The details of a template are set with registerTemplate or updateTemplate (details); resource details \
             work on: {supported}"
        ),
        (Purpose::Tags, _) => format!("The resource type {t} doesn't support resource tags; tags work on: {supported}"),
        (Purpose::Details, _) => {
            format!("The resource type {t} doesn't support resource details; details work on: {supported}")
        }
    }))
}

fn not_found(t: ResourceType, uuid: &str) -> Error {
    Error::invalid(format!(
        "Unable to find resource by id {uuid} and type {t}; check the id and resourcetype (list the resource to see its id)"
    ))
}

/// Check a key and value of `tags[i]` / `details[i]`.
pub fn check_pair(param: &str, key: &str, value: &str) -> Result<(), Error> {
    if key.trim().is_empty() {
        return Err(Error::invalid(format!(
            "A key is missing in {param}: give {param}[N].key=<key> with {param}[N].value=<value>"
        )));
    }
    if value.is_empty() {
        return Err(Error::invalid(format!(
            "Value for the key {key} is either null or empty"
        )));
    }
    for (what, s) in [("key", key), ("value", value)] {
        if s.chars().count() > MAX_LEN {
            return Err(Error::invalid(format!(
                "The {what} of {param} entry {key} is longer than {MAX_LEN} characters"
            )));
        }
    }
    Ok(())
}

/// Refuse a key given twice (keys compare without case).
pub(crate) fn check_unique_keys<'a>(param: &str, keys: impl Iterator<Item = &'a str>) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for k in keys {
        if !seen.insert(k.to_lowercase()) {
            return Err(Error::invalid(format!(
                "The key {k} is given twice in {param}; give each key once"
            )));
        }
    }
    Ok(())
}

/// `createTags`.
pub struct TagsCreate {
    pub resource_type: String,
    pub resource_ids: Vec<String>,
    /// (key, value) in request order.
    pub tags: Vec<(String, String)>,
    pub customer: Option<String>,
}

/// `addResourceDetail`.
pub struct DetailsAdd {
    pub resource_type: String,
    pub resource_id: String,
    pub details: Vec<(String, String)>,
    pub display: bool,
}

impl App {
    /// A live resource the caller may act on (`read`: may read the details of). One it may
    /// not see is "not found" (as the VM and network lookups answer); one it may see but not
    /// change (a public template, a domain network, infrastructure for a non-root caller) is
    /// refused, but may be read.
    async fn tag_target(
        &self,
        c: &mut Conn,
        caller: &Caller,
        t: ResourceType,
        uuid: &str,
        read: bool,
    ) -> Result<Target, Error> {
        let x = tag_db::resolve(c, self.db.backend(), t, uuid, false)
            .await?
            .ok_or_else(|| not_found(t, uuid))?;
        let allowed = match x.account_id {
            Some(a) => match ferrostack_db::account::get(&mut *c, AccountId(a)).await? {
                Some(owner) => check_account(caller, &owner).is_ok(),
                None => caller.is_root_admin(),
            },
            None => caller.is_root_admin(),
        };
        let readable = read && x.shared == 1;
        if !(allowed || readable) {
            return Err(if x.shared == 1 {
                Error::denied(format!(
                    "Account {} doesn't have permissions to change the tags or details of {t} {uuid}; ask its owner or an administrator",
                    caller.account_name
                ))
            } else {
                not_found(t, uuid)
            });
        }
        Ok(x)
    }

    /// Resolve every id of a tag or detail command (each once, in order).
    async fn tag_targets(
        &self,
        c: &mut Conn,
        caller: &Caller,
        t: ResourceType,
        ids: &[String],
    ) -> Result<Vec<Target>, Error> {
        let mut out: Vec<Target> = Vec::new();
        for id in ids {
            let x = self.tag_target(c, caller, t, id.trim(), false).await?;
            if !out.iter().any(|o| o.id == x.id) {
                out.push(x);
            }
        }
        Ok(out)
    }

    /// `createTags`: check everything, then submit the job that writes the tags.
    pub async fn tags_create(&self, caller: &Caller, r: TagsCreate, meta: JobMeta) -> Result<Submitted, Error> {
        let t = parse_resource_type(&r.resource_type, Purpose::Tags)?;
        for (k, v) in &r.tags {
            check_pair("tags", k, v)?;
        }
        check_unique_keys("tags", r.tags.iter().map(|(k, _)| k.as_str()))?;
        if let Some(cu) = &r.customer {
            if cu.chars().count() > MAX_LEN {
                return Err(Error::invalid(format!("customer is longer than {MAX_LEN} characters")));
            }
        }
        let asked = r.resource_ids.len().saturating_mul(r.tags.len());
        if asked > MAX_TAGS_PER_CALL {
            return Err(Error::invalid(format!(
                "This call would write {asked} tags ({} resources × {} tags); at most {MAX_TAGS_PER_CALL} per call: \
                 split it into several createTags calls",
                r.resource_ids.len(),
                r.tags.len()
            )));
        }
        let mut tx = self.db.begin().await?;
        let targets = self.tag_targets(&mut tx, caller, t, &r.resource_ids).await?;
        let mut entries = Vec::new();
        for x in &targets {
            for (k, v) in &r.tags {
                if tag_db::value_of(&mut tx, t, x.id, k).await?.is_some() {
                    return Err(duplicate(k, t, &x.uuid));
                }
                entries.push(TagEntry {
                    uuid: new_uuid(),
                    resource_uuid: x.uuid.clone(),
                    key: k.clone(),
                    value: v.clone(),
                });
            }
        }
        let uuids: Vec<String> = targets.iter().map(|x| x.uuid.clone()).collect();
        let params = to_params(&TagsCreateParams {
            resource_type: t,
            customer: r.customer.clone(),
            entries,
        })?;
        let keys: Vec<&str> = r.tags.iter().map(|(k, _)| k.as_str()).collect();
        let request = JobRequest {
            meta,
            instance: None,
            sync_key: format!("tags:{t}:{}", uuids.join(",")),
            params,
            description: format!(
                "Creating resource tag(s) {} on {t} {}",
                keys.join(", "),
                uuids.join(", ")
            ),
            resource: None,
        };
        self.tag_job_submit(tx, caller, request).await
    }

    /// `deleteTags`: the tags of these resources matching `tags` (all of them without), as a
    /// job. Deleting tags that are not there succeeds: the end state is the one asked for.
    pub async fn tags_delete(
        &self,
        caller: &Caller,
        resource_type: &str,
        resource_ids: &[String],
        tags: Vec<KeySelector>,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let t = parse_resource_type(resource_type, Purpose::Tags)?;
        if resource_ids.len() > MAX_TAGS_PER_CALL {
            return Err(Error::invalid(format!(
                "At most {MAX_TAGS_PER_CALL} resources per deleteTags call; split it into several calls"
            )));
        }
        for k in &tags {
            if k.key.trim().is_empty() {
                return Err(Error::invalid(
                    "A key is missing in tags: give tags[N].key=<key> (and tags[N].value=<value> to delete only that value)",
                ));
            }
        }
        let mut tx = self.db.begin().await?;
        let targets = self.tag_targets(&mut tx, caller, t, resource_ids).await?;
        let uuids: Vec<String> = targets.iter().map(|x| x.uuid.clone()).collect();
        let params = to_params(&TagsDeleteParams {
            resource_type: t,
            resource_uuids: uuids.clone(),
            tags,
        })?;
        let request = JobRequest {
            meta,
            instance: None,
            sync_key: format!("tags:{t}:{}", uuids.join(",")),
            params,
            description: format!("Deleting tags of {t} {}", uuids.join(", ")),
            resource: None,
        };
        self.tag_job_submit(tx, caller, request).await
    }

    /// Submit a tag or detail job in the transaction that checked its targets, and wake the
    /// engine once it is committed.
    async fn tag_job_submit(
        &self,
        mut tx: ferrostack_db::Tx,
        caller: &Caller,
        request: JobRequest,
    ) -> Result<Submitted, Error> {
        let sub = self.job_submit(&mut tx, caller, request).await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `listTags`.
    pub async fn tags_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        resource_type: Option<&str>,
        mut f: TagFilter,
        page: Page,
    ) -> Result<(i64, Vec<Tag>), Error> {
        if let Some(rt) = resource_type {
            f.resource_type = Some(parse_resource_type(rt, Purpose::Tags)?);
        }
        let mut c = self.db.conn().await?;
        let owner = self.owner_scope(&mut c, caller, scope).await?;
        tag_db::list(&mut c, &owner, &f, page).await
    }

    /// The tags of a page of resources the caller already sees, in one query.
    pub async fn tags_page(&self, t: ResourceType, ids: &[i64]) -> Result<TagPage, Error> {
        let mut out: TagPage = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut c = self.db.conn().await?;
        for tag in tag_db::of_resources(&mut c, t, ids).await? {
            out.entry(tag.resource_id).or_default().push(tag);
        }
        Ok(out)
    }

    /// The details of a page of resources, in one query (`display_only`: the ones marked for
    /// display, all regular users see).
    pub async fn details_page(&self, t: ResourceType, ids: &[i64], display_only: bool) -> Result<DetailPage, Error> {
        let mut out: DetailPage = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut c = self.db.conn().await?;
        for d in tag_db::details_of(&mut c, t, ids, display_only).await? {
            out.entry(d.resource_id).or_default().push(d);
        }
        Ok(out)
    }

    /// `addResourceDetail`: check, then submit the job that sets the details.
    pub async fn details_add(&self, caller: &Caller, r: DetailsAdd, meta: JobMeta) -> Result<Submitted, Error> {
        let t = parse_resource_type(&r.resource_type, Purpose::Details)?;
        for (k, v) in &r.details {
            check_pair("details", k, v)?;
        }
        check_unique_keys("details", r.details.iter().map(|(k, _)| k.as_str()))?;
        let mut tx = self.db.begin().await?;
        let x = self.tag_target(&mut tx, caller, t, r.resource_id.trim(), false).await?;
        let params = to_params(&DetailsAddParams {
            resource_type: t,
            resource_uuid: x.uuid.clone(),
            display: r.display,
            details: r
                .details
                .iter()
                .map(|(k, v)| DetailEntry {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        })?;
        let keys: Vec<&str> = r.details.iter().map(|(k, _)| k.as_str()).collect();
        let request = JobRequest {
            meta,
            instance: None,
            sync_key: format!("details:{t}:{}", x.uuid),
            params,
            description: format!("Adding details {} to {t} {}", keys.join(", "), x.uuid),
            resource: None,
        };
        self.tag_job_submit(tx, caller, request).await
    }

    /// `removeResourceDetail`: one key, or every detail of the resource without `key`.
    pub async fn details_remove(
        &self,
        caller: &Caller,
        resource_type: &str,
        resource_id: &str,
        key: Option<String>,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let t = parse_resource_type(resource_type, Purpose::Details)?;
        let mut tx = self.db.begin().await?;
        let x = self.tag_target(&mut tx, caller, t, resource_id.trim(), false).await?;
        let what = key
            .as_deref()
            .map(|k| format!("detail {k}"))
            .unwrap_or_else(|| "details".into());
        let params = to_params(&DetailsRemoveParams {
            resource_type: t,
            resource_uuid: x.uuid.clone(),
            key,
        })?;
        let request = JobRequest {
            meta,
            instance: None,
            sync_key: format!("details:{t}:{}", x.uuid),
            params,
            description: format!("Removing {what} of {t} {}", x.uuid),
            resource: None,
        };
        self.tag_job_submit(tx, caller, request).await
    }

    /// `listResourceDetails`. With `resourceid`, that resource's details (it must be one the
    /// caller may act on); without, the details of every resource of the type the caller's
    /// scope reaches that match `key` and `value`. Regular users see only details marked for
    /// display; admins filter on `fordisplay` if they give it.
    #[allow(clippy::too_many_arguments)]
    pub async fn details_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        resource_type: &str,
        resource_id: Option<&str>,
        key: Option<String>,
        value: Option<String>,
        display: Option<bool>,
        page: Page,
    ) -> Result<(i64, Vec<Detail>), Error> {
        let t = parse_resource_type(resource_type, Purpose::Details)?;
        if resource_id.is_none() && value.is_none() {
            return Err(Error::invalid(
                "Insufficient parameters passed for listing by resourceId OR key,value pair. Please check your params and try again.",
            ));
        }
        if value.is_some() && key.is_none() {
            return Err(Error::invalid(
                "Listing by (key, value) but key is null. Please check the params and try again",
            ));
        }
        let mut c = self.db.conn().await?;
        let display = if caller.is_root_admin() { display } else { Some(true) };
        let mut f = DetailFilter {
            resource_type: t,
            resource_id: None,
            key,
            value,
            display,
        };
        let owner = match resource_id {
            Some(u) => {
                let x = self.tag_target(&mut c, caller, t, u.trim(), true).await?;
                f.resource_id = Some(x.id);
                None
            }
            None => match t {
                // Infrastructure details are the same for everyone who sees the infrastructure.
                ResourceType::Zone
                | ResourceType::ServiceOffering
                | ResourceType::DiskOffering
                | ResourceType::NetworkOffering => None,
                ResourceType::UserVm
                | ResourceType::Template
                | ResourceType::Iso
                | ResourceType::Volume
                | ResourceType::Network
                | ResourceType::Nic
                | ResourceType::PublicIpAddress
                | ResourceType::Account
                | ResourceType::User
                | ResourceType::SshKeyPair
                | ResourceType::UserData
                | ResourceType::Snapshot => Some(self.owner_scope(&mut c, caller, scope).await?),
            },
        };
        tag_db::details_list(&mut c, owner.as_ref(), &f, page).await
    }
}

/// CloudStack's answer to a key a resource has already.
pub fn duplicate(key: &str, t: ResourceType, uuid: &str) -> Error {
    Error::invalid(format!(
        "tag {key} already on {t} with id {uuid}; delete it first (deleteTags) to give it another value"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_are_checked_per_purpose() {
        assert_eq!(
            parse_resource_type("uservm", Purpose::Tags).unwrap(),
            ResourceType::UserVm
        );
        let e = parse_resource_type("VMSnapshot", Purpose::Tags)
            .unwrap_err()
            .client_message("createtags");
        assert!(e.contains("VMSnapshot is not supported by ferrostack"), "{e}");
        assert!(e.contains("UserVm") && e.contains("Network"), "{e}");
        let e = parse_resource_type("Bogus", Purpose::Tags)
            .unwrap_err()
            .client_message("createtags");
        assert!(e.starts_with("Invalid resource type Bogus"), "{e}");
        let e = parse_resource_type("Zone", Purpose::Tags)
            .unwrap_err()
            .client_message("createtags");
        assert!(e.contains("Zone doesn't support resource tags"), "{e}");
        assert!(parse_resource_type("Zone", Purpose::Details).is_ok());
        let e = parse_resource_type("Account", Purpose::Details)
            .unwrap_err()
            .client_message("x");
        assert!(e.contains("Account doesn't support resource details"), "{e}");
        assert!(parse_resource_type("Template", Purpose::Details).is_err());
        for n in CLOUDSTACK_TYPES {
            if let Some(t) = ResourceType::parse(n) {
                assert_eq!(t.as_str(), *n, "ferrostack spells {n} as CloudStack does");
            }
        }
    }

    #[test]
    fn pairs_and_keys() {
        assert!(check_pair("tags", "env", "prod").is_ok());
        assert!(check_pair("tags", "", "prod").is_err());
        let e = check_pair("tags", "env", "").unwrap_err().client_message("x");
        assert_eq!(e, "Value for the key env is either null or empty");
        assert!(check_pair("tags", &"k".repeat(256), "v").is_err());
        assert!(check_unique_keys("tags", ["a", "B", "b"].into_iter()).is_err());
        assert!(check_unique_keys("tags", ["a", "b"].into_iter()).is_ok());
    }
}
