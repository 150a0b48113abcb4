//! Renders finished jobs' outcomes into `jobresult` JSON.

use async_trait::async_trait;
use ferrostack_app::App;
use ferrostack_app::{JobOutcome, Render};
use ferrostack_types::Error;
use serde_json::{json, Value};

use crate::views;
use crate::views::tag::{details_of, tags_of};
use ferrostack_app::tag::ResourceType;

pub struct JobRenderer;

#[async_trait]
impl Render<App> for JobRenderer {
    async fn render(&self, app: &App, outcome: &JobOutcome) -> Result<Value, Error> {
        match outcome {
            JobOutcome::Success => Ok(json!({"success": true})),
            JobOutcome::Entity { object, uuid } => {
                let v = match *object {
                    "account" => app.account_view(uuid).await?.map(|(a, us)| views::account(&a, &us)),
                    "user" => app.user_get(uuid).await?.map(|u| views::user(&u)),
                    "domain" => app.domain_get(uuid).await?.map(|d| views::domain(&d)),
                    "virtualmachine" => match app.vm_view(uuid).await? {
                        Some((v, nics)) => {
                            let refs: Vec<_> = nics.iter().collect();
                            let tags = app.tags_page(ResourceType::UserVm, &[v.id]).await?;
                            // Whoever reads the job sees the details every user may see.
                            let details = app.details_page(ResourceType::UserVm, &[v.id], true).await?;
                            let (t, d) = (tags_of(&tags, v.id), details_of(&details, v.id));
                            Some(views::vm::vm(&v, &refs, t, d, true))
                        }
                        None => None,
                    },
                    "router" => app.vm_view(uuid).await?.map(|(v, nics)| {
                        let refs: Vec<_> = nics.iter().collect();
                        views::vm::router(&v, &refs)
                    }),
                    "volume" => match app.volume_view(uuid).await? {
                        Some(x) => {
                            let tags = app.tags_page(ResourceType::Volume, &[x.id]).await?;
                            Some(views::vm::volume(&x, tags_of(&tags, x.id), true))
                        }
                        None => None,
                    },
                    "snapshot" => match app.snapshot_view(uuid).await? {
                        Some(s) => {
                            let tags = app.tags_page(ResourceType::Snapshot, &[s.id]).await?;
                            Some(views::snapshot::snapshot(&s, tags_of(&tags, s.id)))
                        }
                        None => None,
                    },
                    "template" => match app.template_created_view(uuid).await? {
                        Some(t) => {
                            let tags = app.tags_page(ResourceType::Template, &[t.template.id]).await?;
                            Some(views::template::template(&t, tags_of(&tags, t.template.id)))
                        }
                        None => None,
                    },
                    "host" => app.host_get(uuid).await?.map(|h| views::infra::host(&h)),
                    "physicalnetwork" => app.physnet_get(uuid).await?.map(|p| views::physnet::physnet(&p)),
                    "traffictype" => app.traffic_get(uuid).await?.map(|t| views::physnet::traffic(&t)),
                    "networkserviceprovider" => app.nsp_get(uuid).await?.map(|n| views::physnet::nsp(&n)),
                    "virtualrouterelement" => app.vr_get(uuid).await?.map(|e| views::physnet::vr_element(&e)),
                    other => return Err(Error::internal(format!("no renderer for job result object {other}"))),
                };
                let v = v.ok_or_else(|| Error::ResourceUnavailable(format!("the {object} {uuid} is gone")))?;
                Ok(json!({ *object: v }))
            }
            JobOutcome::View { object, view, key } => {
                let v = match *view {
                    "template_in_zone" => {
                        let (t, z) = key.split_once('/').unwrap_or((key.as_str(), ""));
                        match app.template_in_zone_view(t, z).await? {
                            Some(row) => {
                                let tags = app.tags_page(ResourceType::Template, &[row.template.id]).await?;
                                Some(views::template::template(&row, tags_of(&tags, row.template.id)))
                            }
                            None => None,
                        }
                    }
                    "template_extract" => {
                        let (x, token) = key.split_once('/').unwrap_or((key.as_str(), ""));
                        app.template_extract_view(x, token)
                            .await?
                            .map(|x| views::template::extract(&x))
                    }
                    other => return Err(Error::internal(format!("no renderer for job result view {other}"))),
                };
                let v = v.ok_or_else(|| Error::ResourceUnavailable(format!("the {object} of this job is gone")))?;
                Ok(json!({ *object: v }))
            }
        }
    }
}
