//! A maintainer attaches a synced GitHub issue or pull request to a finding or a whole target
//! ("#38707 is about django-crum"), or detaches a link that claims too much. Plain HTML forms
//! posted to server functions: they work without JavaScript (errors come back in the URL) and
//! add nothing to the browser bundle. Each change is an event (`link.added`, `link.removed`).

use leptos::{prelude::*, server_fn::ServerFn};

use super::ui::{BUTTON, INPUT};

/// `owner/repo#123` or a GitHub issue / pull request URL → (repository, number).
pub fn parse_reference(text: &str) -> Option<(String, i32)> {
    let text = text.trim().trim_end_matches('/');
    let text = text.strip_prefix("https://github.com/").unwrap_or(text);
    let (repository, number) = match text.split_once('#') {
        Some((repository, number)) => (repository.to_owned(), number),
        None => {
            let parts: Vec<&str> = text.split('/').collect();
            match parts.as_slice() {
                [owner, name, "issues" | "pull", number] => (format!("{owner}/{name}"), *number),
                _ => return None,
            }
        }
    };
    let valid = repository.split('/').count() == 2
        && repository.split('/').all(|p| {
            !p.is_empty() && p != "." && p != ".." && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    let number = number.parse::<i32>().ok().filter(|n| *n > 0)?;
    valid.then_some((repository, number))
}

/// Attaches `reference` (a synced issue or pull request) to the finding or target `id`.
#[server(prefix = "/api", endpoint = "attach_link")]
pub async fn attach_link(kind: String, id: String, reference: String) -> Result<(), ServerFnError> {
    use crate::error::AppError;
    use db::models::links;
    let user = crate::server::require_maintainer().await?;
    let id = crate::server::parse_id(&id)?;
    let item = match kind.as_str() {
        "finding" => db::kinds::Item::Finding(id),
        "target" => db::kinds::Item::Target(id),
        other => return Err(AppError::bad_request(format!("cannot link a {other:?}: use finding or target")).into()),
    };
    let Some((repository, number)) = parse_reference(&reference) else {
        return Err(AppError::unprocessable(format!(
            "{:?} names no issue or pull request: write owner/repo#123 or its GitHub URL",
            reference.chars().take(200).collect::<String>()
        ))
        .into());
    };
    let state = crate::server::state()?;
    let mut db = state.pool.acquire().await.map_err(AppError::from)?;
    let Some(side) = links::side_of(&mut db, &repository, number).await.map_err(AppError::from)? else {
        return Err(AppError::unprocessable(format!(
            "{repository}#{number} is not synced: only issues and pull requests of the epic's sync can be attached"
        ))
        .into());
    };
    match links::add_manual(&mut db, item, side, &user.login).await {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            return Err(AppError::not_found("no such finding or target").into())
        }
        Err(e) => return Err(AppError::from(e).into()),
    }
    crate::server::changed();
    Ok(())
}

/// Detaches link `link` (it stays recorded as removed, so no sync brings it back).
#[server(prefix = "/api", endpoint = "detach_link")]
pub async fn detach_link(link: String) -> Result<(), ServerFnError> {
    use crate::error::AppError;
    let user = crate::server::require_maintainer().await?;
    let link = crate::server::parse_id(&link)?;
    let state = crate::server::state()?;
    let mut db = state.pool.acquire().await.map_err(AppError::from)?;
    if !db::models::links::remove(&mut db, link, &user.login).await.map_err(AppError::from)? {
        return Err(AppError::not_found("no active link with that id").into());
    }
    crate::server::changed();
    Ok(())
}

/// The attach form: `kind` is `finding` or `target`.
#[component]
pub fn AttachLinkForm(#[prop(into)] kind: String, id: i64) -> impl IntoView {
    view! {
        <form method="post" action=AttachLink::url() class="mt-2 flex flex-wrap items-center gap-2" data-testid="attach-link">
            <input type="hidden" name="kind" value=kind />
            <input type="hidden" name="id" value=id.to_string() />
            <label class="text-sm" for=format!("attach-{id}")>"Attach an issue or PR"</label>
            <input id=format!("attach-{id}") name="reference" required maxlength="300" class=format!("{INPUT} w-56")
                placeholder="owner/repo#123" />
            <button type="submit" class=BUTTON>"Attach"</button>
        </form>
    }
}

/// A link's "Detach" button.
#[component]
pub fn DetachLinkButton(link: i64) -> impl IntoView {
    view! {
        <form method="post" action=DetachLink::url() class="inline" data-testid="detach-link">
            <input type="hidden" name="link" value=link.to_string() />
            <button type="submit" class="text-xs text-rose-700 underline-offset-2 hover:underline dark:text-rose-300"
                title="Detach: this link claims more than the item says">"detach"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::parse_reference;

    #[test]
    fn references_read_as_github_writes_them() {
        let want = Some(("openedx/openedx-platform".to_owned(), 38707));
        assert_eq!(parse_reference("openedx/openedx-platform#38707"), want);
        assert_eq!(parse_reference(" https://github.com/openedx/openedx-platform/issues/38707 "), want);
        assert_eq!(
            parse_reference("https://github.com/openedx/XBlock/pull/934/"),
            Some(("openedx/XBlock".into(), 934))
        );
        for bad in ["38707", "#38707", "openedx#1", "a/b#0", "a/b#x", "a/b/c#1", "../x#1", "a b/c#1", ""] {
            assert_eq!(parse_reference(bad), None, "{bad}");
        }
    }
}
