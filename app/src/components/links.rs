//! The GitHub issues and pull requests linked to a finding or target, grouped by what each
//! link claims ([`GitHubList`]). A maintainer attaches a synced one to a finding or a whole target
//! ("#38707 is about django-crum"), or detaches a link that claims too much. Plain HTML forms
//! posted to server functions: they work without JavaScript (errors come back in the URL) and
//! add nothing to the browser bundle. Each change is an event (`link.added`, `link.removed`).

use leptos::{prelude::*, server_fn::ServerFn};

use super::ui::{StateBadge, BUTTON, INPUT, LINK};
use db::views::{GitHubLink, LinkScope};

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

/// Linked GitHub issues and pull requests with their state, grouped by what each link
/// claims: items that name the finding (it is filed), pull requests that only changed its
/// file (evidence; "kept" when a scan after the merge still sees it), and items about its
/// repository or package as a whole.
#[component]
pub fn GitHubList(
    items: Vec<GitHubLink>,
    #[prop(optional)] on_target: bool,
    /// Maintainers may detach a link that claims too much.
    #[prop(optional)]
    maintainer: bool,
) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="text-sm text-slate-600 dark:text-slate-300">"No linked issues or pull requests."</p> }.into_any();
    }
    let group = |scope: LinkScope| items.iter().filter(|i| i.scope == scope).cloned().collect::<Vec<_>>();
    let (named, touched, about) = (group(LinkScope::Finding), group(LinkScope::Touched), group(LinkScope::Target));
    let titles = if on_target {
        ["Name one of its findings", "Changed the files of its findings", "About it as a whole"]
    } else {
        [
            "Name this finding (filed)",
            "Changed its file (evidence, not a claim to fix it)",
            "About its repository or package, not this finding",
        ]
    };
    // Type-erased: the nested views' static type is too deep for the wasm build.
    let section = |title: &'static str, testid: &'static str, items: Vec<GitHubLink>| {
        (!items.is_empty()).then(|| {
            view! {
                <div data-testid=testid>
                    <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500">{title}</h3>
                    <ul class="mt-1 space-y-1" data-testid="github-items">
                        {items.into_iter().map(|item| view! { <GitHubItem item maintainer /> }.into_any()).collect_view()}
                    </ul>
                </div>
            }
            .into_any()
        })
    };
    view! {
        <div class="space-y-3">
            {section(titles[0], "links-named", named)}
            {section(titles[1], "links-touched", touched)}
            {section(titles[2], "links-about", about)}
        </div>
    }
    .into_any()
}

#[component]
fn GitHubItem(item: GitHubLink, maintainer: bool) -> impl IntoView {
    let link_id = item.link_id;
    let kind = if item.kind == "pull" { "PR" } else { "issue" };
    let reference = format!("{}#{}", item.repository, item.number);
    view! {
        <li class="flex flex-wrap items-center gap-2 text-sm" data-testid=format!("github-{}", item.kind)>
            <StateBadge state=item.state.clone() />
            <span class="text-xs text-slate-500 dark:text-slate-400">{kind}</span>
            <a class=LINK href=item.url.clone() rel="external noopener">{reference.clone()}</a>
            <span class="break-words">{item.title.clone()}</span>
            {item.kept.then(|| view! {
                <span class="rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900 dark:bg-amber-900 dark:text-amber-100" data-testid="kept-by"
                    title="The pull request merged and a later scan still sees the finding: it kept it. Triage it if that is intended.">
                    {format!("kept by {reference}")}
                </span>
            })}
            {(!item.assignees.is_empty()).then(|| view! {
                <span class="text-xs text-slate-500 dark:text-slate-400">{format!("assigned: {}", item.assignees.join(", "))}</span>
            })}
            <span class="text-xs text-slate-400">{format!("({})", item.how.replace('_', "-"))}</span>
            {(maintainer && link_id > 0).then(|| view! { <DetachLinkButton link=link_id /> })}
        </li>
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
