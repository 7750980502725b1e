//! Running the PostgreSQL programs as an unprivileged service user when we are root.
//!
//! PostgreSQL refuses to run as root. When the platform runs as root (CI, a server install), the
//! cluster's files belong to the `postgres` system user and every server program is started
//! with that user's uid/gid; otherwise everything runs as the current user.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::unistd::{Gid, Uid, User};

use crate::error::ClusterError;

/// Who runs the server programs and owns the cluster files.
#[derive(Debug, Clone)]
pub(crate) enum RunAs {
    CurrentUser,
    ServiceUser { name: String, uid: Uid, gid: Gid },
}

impl RunAs {
    /// The current user, or `service_user` when we are root.
    pub(crate) fn detect(service_user: &str) -> Result<RunAs, ClusterError> {
        if !Uid::effective().is_root() {
            return Ok(RunAs::CurrentUser);
        }
        match User::from_name(service_user) {
            Ok(Some(user)) => Ok(RunAs::ServiceUser {
                name: user.name,
                uid: user.uid,
                gid: user.gid,
            }),
            _ => Err(ClusterError::NoServiceUser {
                user: service_user.to_owned(),
            }),
        }
    }

    /// Applies the identity to a command about to be spawned.
    pub(crate) fn apply(&self, cmd: &mut Command) {
        if let RunAs::ServiceUser { uid, gid, .. } = self {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
    }

    /// Makes `path` belong to the service user (no-op for the current user).
    pub(crate) fn chown(&self, path: &Path) -> Result<(), ClusterError> {
        if let RunAs::ServiceUser { uid, gid, .. } = self {
            nix::unistd::chown(path, Some(*uid), Some(*gid)).map_err(|e| ClusterError::Io {
                action: format!("chown {}", path.display()),
                source: std::io::Error::from(e),
            })?;
        }
        Ok(())
    }

    /// Checks that every ancestor of `path` can be traversed by the service user.
    pub(crate) fn check_traversable(&self, path: &Path) -> Result<(), ClusterError> {
        let RunAs::ServiceUser { name, uid, gid } = self else {
            return Ok(());
        };
        use std::os::unix::fs::MetadataExt;
        for ancestor in path.ancestors().skip(1) {
            let Ok(meta) = std::fs::metadata(ancestor) else {
                continue;
            };
            let mode = meta.mode();
            let ok = if meta.uid() == uid.as_raw() {
                mode & 0o100 != 0
            } else if meta.gid() == gid.as_raw() {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
            if !ok {
                return Err(ClusterError::NotTraversable {
                    user: name.clone(),
                    path: path.to_path_buf(),
                    reason: format!(
                        "{} (mode {:o}) is not searchable; choose a data directory outside it",
                        ancestor.display(),
                        mode & 0o7777
                    ),
                });
            }
        }
        Ok(())
    }
}
