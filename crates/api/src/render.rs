//! Renders finished jobs' outcomes into `jobresult` JSON.

use async_trait::async_trait;
use ferrostack_app::App;
use ferrostack_jobs::{JobOutcome, Render};
use ferrostack_types::Error;
use serde_json::{json, Value};

use crate::views;

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
                    "host" => app.host_get(uuid).await?.map(|h| views::infra::host(&h)),
                    other => return Err(Error::internal(format!("no renderer for job result object {other}"))),
                };
                let v = v.ok_or_else(|| Error::ResourceUnavailable(format!("the {object} {uuid} is gone")))?;
                Ok(json!({ *object: v }))
            }
        }
    }
}
