//! Integration tests: the whole server on port 0, driven through the real HTTP API.

mod catalog;
mod common;
mod identity;
mod infra;
mod jobs;
mod wire;
