//! Argo CD on the harness's clusters: the local endpoints that stand in for
//! the production ones an ApplicationSet names.
//!
//! - [`proxy`]: an HTTP CONNECT proxy that tunnels a production cluster URL
//!   to the local API server that plays it.
//! - [`repos`]: local directories served as git or Helm chart repositories.
//! - [`static_server`]: the small file server behind a Helm repository.

pub mod api;
pub mod clusters;
mod http;
pub mod install;
pub mod local;
pub mod proxy;
pub mod repos;
pub mod static_server;
