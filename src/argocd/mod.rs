//! Argo CD on the harness's clusters.
//!
//! - [`resources`]: typed Application and ApplicationSet.
//! - [`install`]: server-side apply of manifests (CRDs, config, fixtures).
//! - [`local`]: Argo CD's components as local processes.
//! - [`clusters`]: cluster Secrets and the routes for production URLs.
//! - [`proxy`]: an HTTP CONNECT proxy that tunnels a production cluster URL
//!   to the local API server that plays it.
//! - [`repos`]: local directories served as git or Helm chart repositories.
//! - [`static_server`]: the small file server behind a Helm repository.
//! - [`api`]: argocd-server's REST API (generation, managed resources).

pub mod api;
pub mod clusters;
mod http;
pub mod install;
pub mod local;
pub mod proxy;
pub mod repos;
pub mod resources;
pub mod static_server;
