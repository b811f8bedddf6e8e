//! Maintainer or contributor: configured logins are maintainers; so are those GitHub says
//! may administer, maintain or write to the configured repository. Everyone else who signs
//! in contributes. Refreshed at every sign-in.

use db::kinds::Role;
use octocrab::Octocrab;
use serde::Deserialize;

use super::AuthConfig;

#[derive(Debug, Deserialize)]
struct Permission {
    permission: String,
    #[serde(default)]
    role_name: Option<String>,
}

/// True for a permission payload of `/repos/{o}/{r}/collaborators/{login}/permission` that
/// allows maintaining the repository.
fn maintains(permission: &str, role_name: Option<&str>) -> bool {
    matches!(permission, "admin" | "maintain" | "write") || matches!(role_name, Some("admin" | "maintain" | "write"))
}

/// `maintainer` or `contributor` for `login`, asking GitHub with the user's own token.
pub async fn derive(config: &AuthConfig, github: &Octocrab, login: &str) -> Role {
    if config.maintainers.iter().any(|m| m.eq_ignore_ascii_case(login)) {
        return Role::Maintainer;
    }
    let Some(repository) = &config.maintainer_repository else { return Role::Contributor };
    let route = format!("/repos/{repository}/collaborators/{login}/permission");
    match github.get::<Permission, _, ()>(&route, None).await {
        Ok(p) if maintains(&p.permission, p.role_name.as_deref()) => Role::Maintainer,
        Ok(_) => Role::Contributor,
        Err(e) => {
            // Not a collaborator (404/403), or GitHub unreachable: the safe answer.
            tracing::info!("no repository permission for {login} on {repository}: {e}");
            Role::Contributor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_payloads() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/github");
        let fixture: Permission = serde_json::from_str(
            &std::fs::read_to_string(dir.join("rest.repos.collaborators.permission.json")).unwrap(),
        )
        .unwrap();
        assert!(maintains(&fixture.permission, fixture.role_name.as_deref()));
        assert!(maintains("write", None));
        assert!(maintains("write", Some("maintain")));
        assert!(!maintains("read", Some("triage")));
        assert!(!maintains("none", None));
    }
}
