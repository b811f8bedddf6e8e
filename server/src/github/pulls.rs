//! Opening pull requests through the REST API, without a checkout: a branch made from a
//! commit (`POST /repos/{o}/{r}/git/refs`), one commit per changed file on it
//! (`PUT /repos/{o}/{r}/contents/{path}`, naming the blob it replaces), then the pull request
//! (`POST /repos/{o}/{r}/pulls`). Like the comment writes these are not retried here: the
//! change job decides what a failure means (and deletes a branch it made).

use base64::Engine as _;
use http::StatusCode;
use serde::Deserialize;

use super::{refs, GitHub, PullRequest};

/// Why GitHub did not do a write: its status and message, or no answer at all.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{route}: HTTP {status}: {message}")]
    Refused { route: String, status: StatusCode, message: String },
    #[error("{route}: {detail}")]
    Transport { route: String, detail: String },
    #[error("{route}: unexpected response body: {detail}")]
    Body { route: String, detail: String },
    #[error(transparent)]
    BadReference(#[from] refs::BadReference),
}

impl WriteError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            WriteError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Worth the whole job trying again later: GitHub's 5xx, a rate limit, no answer.
    pub fn is_transient(&self) -> bool {
        match self {
            WriteError::Refused { status, message, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || (*status == StatusCode::FORBIDDEN && message.to_ascii_lowercase().contains("rate limit"))
            }
            WriteError::Transport { .. } => true,
            WriteError::Body { .. } | WriteError::BadReference(_) => false,
        }
    }

    pub fn message(&self) -> String {
        match self {
            WriteError::Refused { status, message, .. } => format!("HTTP {status}: {message}"),
            other => other.to_string(),
        }
    }
}

/// The git blob id of `bytes`: what `PUT /contents/{path}` must name as the file it replaces
/// (`sha1("blob <len>\0" + bytes)`, git's object id).
pub fn blob_sha(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Deserialize)]
struct CommitRef {
    sha: String,
}

#[derive(Deserialize)]
struct PutContents {
    commit: CommitRef,
}

impl GitHub {
    /// Creates branch `branch` of `repository` at `commit`.
    pub async fn create_branch(&self, repository: &str, branch: &str, commit: &str) -> Result<(), WriteError> {
        refs::check_repository(repository)?;
        let route = format!("/repos/{repository}/git/refs");
        let body = serde_json::json!({ "ref": format!("refs/heads/{branch}"), "sha": commit });
        let _: serde_json::Value = self.send(http::Method::POST, &route, &body).await?;
        Ok(())
    }

    /// Deletes branch `branch` of `repository` (a branch made for a pull request that then
    /// could not be opened).
    pub async fn delete_branch(&self, repository: &str, branch: &str) -> Result<(), WriteError> {
        refs::check_repository(repository)?;
        let route = format!("/repos/{repository}/git/refs/heads/{}", refs::encode(branch)?);
        self.counters.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = self
            .octocrab
            ._delete(self.url(&route), None::<&()>)
            .await
            .map_err(|e| WriteError::Transport { route: route.clone(), detail: e.to_string() })?;
        let status = response.status();
        // Gone already is what was wanted.
        if status.is_success() || status == StatusCode::NOT_FOUND || status == StatusCode::UNPROCESSABLE_ENTITY {
            return Ok(());
        }
        let body = self.octocrab.body_to_string(response).await.unwrap_or_default();
        Err(WriteError::Refused { route, status, message: github_message(&body) })
    }

    /// Commits `content` as `path` on `branch`, replacing the blob `replaces` (its git id):
    /// GitHub refuses with 409 when the file on the branch is not that blob any more. Returns
    /// the new commit's id.
    pub async fn put_file(
        &self,
        repository: &str,
        branch: &str,
        path: &str,
        content: &[u8],
        replaces: &str,
        message: &str,
    ) -> Result<String, WriteError> {
        refs::check_repository(repository)?;
        let route = format!("/repos/{repository}/contents/{}", refs::encode_path(path)?);
        let body = serde_json::json!({
            "message": message,
            "content": base64::engine::general_purpose::STANDARD.encode(content),
            "branch": branch,
            "sha": replaces,
        });
        let put: PutContents = self.send(http::Method::PUT, &route, &body).await?;
        Ok(put.commit.sha)
    }

    /// Opens a pull request of `head` into `base`.
    pub async fn create_pull(
        &self,
        repository: &str,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, WriteError> {
        refs::check_repository(repository)?;
        let route = format!("/repos/{repository}/pulls");
        let payload = serde_json::json!({ "title": title, "head": head, "base": base, "body": body });
        self.send(http::Method::POST, &route, &payload).await
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        method: http::Method,
        route: &str,
        body: &serde_json::Value,
    ) -> Result<T, WriteError> {
        self.counters.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = self.url(route);
        let response = match method {
            http::Method::PUT => self.octocrab._put(url, Some(body)).await,
            _ => self.octocrab._post(url, Some(body)).await,
        }
        .map_err(|e| WriteError::Transport { route: route.to_owned(), detail: e.to_string() })?;
        let status = response.status();
        let text = self
            .octocrab
            .body_to_string(response)
            .await
            .map_err(|e| WriteError::Transport { route: route.to_owned(), detail: e.to_string() })?;
        if !status.is_success() {
            return Err(WriteError::Refused { route: route.to_owned(), status, message: github_message(&text) });
        }
        serde_json::from_str(&text).map_err(|e| WriteError::Body { route: route.to_owned(), detail: e.to_string() })
    }
}

/// GitHub's `message` of an error body, else the body's first 200 characters.
fn github_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_id_is_gits() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(blob_sha(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
        // The empty blob.
        assert_eq!(blob_sha(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }
}
