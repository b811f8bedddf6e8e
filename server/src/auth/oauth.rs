//! Sign-in with GitHub: the OAuth web flow (authorization code, `state`, PKCE S256).
//!
//! `/auth/login` stores a random `state` and the PKCE verifier in the session and sends the
//! browser to GitHub; `/auth/callback` takes them out again (so a code and state work once),
//! refuses a state that does not match, exchanges the code, reads `/user`, derives the role
//! and signs the user in under a new session id. The access token is used for those two
//! requests only and never stored or logged.

use app::error::AppError;
use db::models::{
    events::{self, About, Event, SignedIn},
    users::{self, GitHubAccount},
};
use std::sync::Arc;

use app::state::AppState;
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use oauth2::{
    basic::BasicClient, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::{roles, session, AuthConfig};

const PENDING: &str = "oauth_pending";

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A sign-in on its way through GitHub.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
}

fn client(config: &AuthConfig) -> Option<Client> {
    let web = config.github_web_url.trim_end_matches('/');
    Some(
        BasicClient::new(ClientId::new(config.client_id.clone()?))
            .set_client_secret(ClientSecret::new(config.client_secret.clone()?))
            .set_auth_uri(AuthUrl::new(format!("{web}/login/oauth/authorize")).ok()?)
            .set_token_uri(TokenUrl::new(format!("{web}/login/oauth/access_token")).ok()?)
            .set_redirect_uri(
                RedirectUrl::new(format!("{}/auth/callback", config.public_url.trim_end_matches('/'))).ok()?,
            ),
    )
}

pub async fn login(State(config): State<Arc<AuthConfig>>, session: Session) -> Response {
    let Some(client) = client(&config) else {
        return AppError::Unavailable("sign-in with GitHub is not configured on this server".to_string())
            .into_response();
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read:user".into()))
        .set_pkce_challenge(challenge)
        .url();
    let pending = Pending { state: state.secret().clone(), verifier: verifier.secret().clone() };
    if let Err(e) = session.insert(PENDING, pending).await {
        tracing::error!("cannot start a sign-in: {e}");
        return AppError::internal("cannot start the sign-in, try again").into_response();
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct GitHubUser {
    id: i64,
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    State(config): State<Arc<AuthConfig>>,
    session: Session,
    Query(callback): Query<Callback>,
) -> Response {
    let Some(client) = client(&config) else {
        return AppError::Unavailable("sign-in with GitHub is not configured on this server".to_string())
            .into_response();
    };
    // Taken out, not read: each state and code is good for one attempt.
    let pending: Option<Pending> = session.remove(PENDING).await.unwrap_or(None);
    let Some(pending) = pending else {
        return AppError::bad_request("no sign-in is in progress in this browser: start again").into_response();
    };
    if let Some(error) = callback.error {
        return AppError::unauthorized(format!("GitHub did not sign you in ({error})")).into_response();
    }
    let (Some(code), Some(returned_state)) = (callback.code, callback.state) else {
        return AppError::bad_request("the callback lacks `code` or `state`").into_response();
    };
    if !constant_time_eq(returned_state.as_bytes(), pending.state.as_bytes()) {
        return AppError::bad_request("the sign-in state does not match: start again").into_response();
    }
    let http = match reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build() {
        Ok(http) => http,
        Err(e) => return AppError::internal(format!("HTTP client: {e}")).into_response(),
    };
    let token = match client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&http)
        .await
    {
        Ok(token) => token,
        Err(e) => {
            tracing::info!("GitHub refused a sign-in code: {}", describe_token_error(&e));
            return AppError::unauthorized("GitHub refused the sign-in code (expired or already used): start again")
                .into_response();
        }
    };
    let github = match octocrab::Octocrab::builder()
        .base_uri(config.github_api_url.as_str())
        .map(|b| b.user_access_token(token.access_token().secret().clone()))
        .and_then(|b| b.build())
    {
        Ok(github) => github,
        Err(e) => return AppError::internal(format!("GitHub client: {e}")).into_response(),
    };
    let user: GitHubUser = match github.get("/user", None::<&()>).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!("GET /user after sign-in failed: {e}");
            return AppError::Upstream("GitHub did not say who you are: try again".to_string()).into_response();
        }
    };
    let role = roles::derive(&config, &github, &user.login).await;
    let account = GitHubAccount {
        github_id: user.id,
        login: &user.login,
        name: user.name.as_deref(),
        avatar_url: user.avatar_url.as_deref(),
    };
    let id = match users::record_github_sign_in(&state.pool, &account, role).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return AppError::conflict(format!(
                "the login {} belongs to another GitHub account here; ask a maintainer",
                user.login
            ))
            .into_response()
        }
        Err(e) => return AppError::from(e).into_response(),
    };
    if let Err(e) = session::sign_in(&session, id).await {
        return AppError::internal(format!("session for {}: {e}", user.login)).into_response();
    }
    let event = Event::UserSignedIn(SignedIn { role: role.to_string(), via: "github".into() });
    if let Err(e) = events::record(&state.pool, &event, About::by(&user.login)).await {
        // The sign-in itself worked; only its entry in the audit log is missing.
        tracing::warn!("recording the sign-in of {}: {e}", user.login);
    }
    tracing::info!(login = %user.login, %role, "signed in with GitHub");
    Redirect::to("/").into_response()
}

pub async fn logout(session: Session) -> Response {
    if let Err(e) = session.flush().await {
        tracing::warn!("signing out: {e}");
    }
    Redirect::to("/").into_response()
}

/// The kind of a token-endpoint failure, without any of its data (which may echo secrets).
fn describe_token_error<RE: std::error::Error, T: oauth2::ErrorResponse>(
    error: &oauth2::RequestTokenError<RE, T>,
) -> &'static str {
    match error {
        oauth2::RequestTokenError::ServerResponse(_) => "the token endpoint returned an error",
        oauth2::RequestTokenError::Parse(..) => "unexpected answer from the token endpoint",
        oauth2::RequestTokenError::Request(_) | oauth2::RequestTokenError::Other(_) => {
            "the token endpoint could not be reached"
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
