//! Where the upstream binaries live: `make toolchain` builds them into
//! `$GITOPS_E2E_CACHE/toolchain` (default `~/.cache/gitops-e2e/toolchain`);
//! `GITOPS_E2E_TOOLCHAIN` may point at another such directory.

use std::path::{Path, PathBuf};

/// The binaries a kwok run needs, by the name `build.sh` links them under.
pub const BINARIES: &[&str] = &[
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "etcd",
    "kwok",
    "kwokctl",
    "argocd",
    "helm",
    "kustomize",
];

#[derive(Debug, Clone, thiserror::Error)]
#[error("the toolchain is not built: {missing} missing in `{}`", dir.display())]
pub struct Missing {
    pub dir: PathBuf,
    pub missing: String,
}

/// A located, complete toolchain.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// `…/toolchain`: holds `bin/` and `share/`.
    pub root: PathBuf,
}

impl Toolchain {
    /// The toolchain this machine has, or what is missing from it.
    pub fn locate() -> Result<Self, Missing> {
        let root = default_root();
        let absent: Vec<&str> = BINARIES
            .iter()
            .copied()
            .filter(|b| !is_executable(&root.join("bin").join(b)))
            .collect();
        let manifests = root.join("share/argocd/crds/application-crd.yaml");
        let mut missing: Vec<String> = absent.iter().map(|b| format!("`{b}`")).collect();
        if !manifests.is_file() {
            missing.push("Argo CD's manifests".to_string());
        }
        if missing.is_empty() {
            Ok(Self { root })
        } else {
            Err(Missing {
                dir: root,
                missing: missing.join(", "),
            })
        }
    }

    pub fn bin(&self, name: &str) -> PathBuf {
        self.root.join("bin").join(name)
    }

    pub fn bin_dir(&self) -> PathBuf {
        self.root.join("bin")
    }

    /// The Argo CD version whose manifests `share/argocd` holds (it links to
    /// `argocd-<version>`).
    pub fn argocd_version(&self) -> &'static str {
        let linked = std::fs::read_link(self.argocd_manifests()).ok();
        let name = linked
            .as_ref()
            .and_then(|l| l.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        crate::argocd::incluster::KNOWN_INSTALL_MANIFESTS
            .iter()
            .map(|(v, _)| *v)
            .find(|v| name == format!("argocd-{v}"))
            .unwrap_or(crate::argocd::incluster::KNOWN_INSTALL_MANIFESTS[0].0)
    }

    /// Argo CD's CRDs (`crds/`) and config objects (`config/`).
    pub fn argocd_manifests(&self) -> PathBuf {
        self.root.join("share/argocd")
    }
}

/// Why a live run (or the live test tiers) cannot happen on this machine, if
/// it cannot: the toolchain is not built, or git or redis-server is missing.
pub fn missing_for_live_runs() -> Option<String> {
    if let Err(e) = Toolchain::locate() {
        return Some(format!("{e} (run `make toolchain`)"));
    }
    let on_path = |tool: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| is_executable(&d.join(tool))))
    };
    ["git", "redis-server"]
        .into_iter()
        .find(|t| !on_path(t))
        .map(|t| format!("`{t}` is not installed (run `make deps`)"))
}

fn default_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("GITOPS_E2E_TOOLCHAIN") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("GITOPS_E2E_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/gitops-e2e")))
        .unwrap_or_else(|| PathBuf::from(".cache/gitops-e2e"));
    cache.join("toolchain")
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
