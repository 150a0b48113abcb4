//! The CloudStack wire protocol over HTTP: parse `command=…`, authenticate (API-key
//! signature or session), validate parameters against the command registry, call one app
//! function, and render the `<command>response` envelope or the error envelope. No business
//! logic lives here.

pub mod args;
pub mod commands;
pub mod extract;
pub mod http;
pub mod params;
pub mod registry;
pub mod render;
pub mod reply;
pub mod resolve;
pub mod signature;
pub mod views;

use std::sync::Arc;

use ferrostack_app::{App, Caller};

pub use http::router;
pub use render::JobRenderer;

/// What a handler gets: the application and the authenticated caller.
pub struct Ctx {
    pub app: Arc<App>,
    pub caller: Caller,
    pub registry: Arc<registry::Registry>,
    /// The job the command runs, from its declaration (async commands).
    pub job: Option<ferrostack_app::job::JobMeta>,
}

impl Ctx {
    /// The declared job of the running async command.
    pub fn job_meta(&self) -> Result<ferrostack_app::job::JobMeta, ferrostack_types::Error> {
        self.job
            .ok_or_else(|| ferrostack_types::Error::internal("command declares no job"))
    }
}

/// The registry of every command ferrostack implements.
pub fn registry() -> registry::Registry {
    registry::Registry::new(commands::all())
}
