//! Integration tests: the whole server on port 0, driven through the real HTTP API.

mod catalog;
mod common;
mod followup;
mod founding;
mod identity;
mod infra;
mod jobs;
mod model;
mod network;
mod physnet;
mod setup;
mod userdata;
mod vm;
mod wire;
