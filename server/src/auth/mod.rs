//! Who is asking: GitHub sign-in (OAuth web flow with PKCE), sessions in Postgres, roles,
//! and the local development login.

pub mod csrf;
pub mod dev_login;
pub mod guard;
pub mod oauth;
pub mod roles;
pub mod session;
pub use db::models::tokens;

use std::net::SocketAddr;

pub use session::{current_user, User};

/// How people sign in, shared with the handlers.
#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    /// The GitHub OAuth app; sign-in with GitHub is off without it.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `https://github.com` (authorize and token endpoints live there).
    pub github_web_url: String,
    /// `https://api.github.com` (`/user`, permissions).
    pub github_api_url: String,
    /// Where users reach this server (`https://unthread.example.org`): the OAuth redirect
    /// goes to `<public_url>/auth/callback`; `https` makes the session cookie `Secure`.
    pub public_url: String,
    /// Whether `public_url` was configured (`--public-url`) rather than derived from the
    /// listening address: only then do writes have to come from exactly its origin.
    pub public_url_configured: bool,
    /// Logins that are maintainers whatever GitHub says.
    pub maintainers: Vec<String>,
    /// `owner/repo` whose admins, maintainers and writers are maintainers here.
    pub maintainer_repository: Option<String>,
    /// `serve --dev-login`: sign in as anyone, without GitHub (loopback only).
    pub dev_login: bool,
    /// `serve --private`: reading needs signing in too.
    pub private: bool,
}

impl AuthConfig {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// `--dev-login` lets anyone sign in as anyone: only a server reachable from this machine
/// alone may offer it.
pub fn check_dev_login_address(dev_login: bool, addr: SocketAddr) -> anyhow::Result<()> {
    anyhow::ensure!(
        !dev_login || addr.ip().is_loopback(),
        "--dev-login is refused on {addr}: it lets anyone sign in as anyone, so the server must listen on a loopback address only (127.0.0.1 or ::1)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_dev_login_address;

    #[test]
    fn dev_login_only_on_loopback() {
        assert!(check_dev_login_address(true, "127.0.0.1:3000".parse().unwrap()).is_ok());
        assert!(check_dev_login_address(true, "[::1]:3000".parse().unwrap()).is_ok());
        assert!(check_dev_login_address(true, "0.0.0.0:3000".parse().unwrap()).is_err());
        assert!(check_dev_login_address(true, "[::]:3000".parse().unwrap()).is_err());
        assert!(check_dev_login_address(true, "192.168.1.4:3000".parse().unwrap()).is_err());
        assert!(check_dev_login_address(false, "0.0.0.0:3000".parse().unwrap()).is_ok());
    }
}
