//! gitops-e2e: validates Argo CD ApplicationSets, offline first, then on real clusters.
//!
//! The data flow is scenario → plan → (provision → argocd → steps) → report; each
//! stage is a module below. Nothing here prints: the binary renders reports.

pub mod appset;
pub mod argocd;
pub mod check;
pub mod clean;
pub mod cli;
pub mod error;
pub mod events;
pub mod forward;
pub mod init;
pub mod input;
pub mod lint;
pub mod live;
pub mod plan;
pub mod pods;
pub mod process;
pub mod provider;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod steps;
pub mod suite;
pub mod toolchain;
pub mod yaml;
